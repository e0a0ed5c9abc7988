/// A fast, reproducible random number generator (xoshiro256**) whose state is
/// derived from a base seed and a path of integers, such as (seed, epoch,
/// index) or (seed, worker). The same path gives the same stream on every
/// machine and whatever the number of workers.
///
/// ```swift
/// var rng = SeededRandom(seed: 42, path: [epoch, index])
/// let flip = Bool.random(using: &rng)
/// ```
public struct SeededRandom: RandomNumberGenerator, Sendable, Hashable {
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator for `seed` alone.
    public init(seed: UInt64) {
        self.init(seed: seed, path: [UInt64]())
    }

    /// A generator for `seed` refined by each integer of `path` in turn.
    public init(seed: UInt64, path: [UInt64]) {
        var mixer = seed ^ 0x6A09_E667_F3BC_C908
        for step in path {
            mixer = SeededRandom.splitMix(&mixer) ^ step
        }
        self.init(mixer: &mixer)
    }

    /// A generator for `seed` refined by each non-negative integer of `path`.
    public init(seed: UInt64, path: [Int]) {
        self.init(seed: seed, path: path.map { UInt64(bitPattern: Int64($0)) })
    }

    /// The generator of `init(seed:path: [first, second])`, without making an array.
    @inlinable
    init(seed: UInt64, steps first: Int, _ second: Int) {
        var mixer = seed ^ 0x6A09_E667_F3BC_C908
        mixer = SeededRandom.splitMix(&mixer) ^ UInt64(bitPattern: Int64(first))
        mixer = SeededRandom.splitMix(&mixer) ^ UInt64(bitPattern: Int64(second))
        self.init(mixer: &mixer)
    }

    @inlinable
    init(mixer: inout UInt64) {
        s0 = SeededRandom.splitMix(&mixer)
        s1 = SeededRandom.splitMix(&mixer)
        s2 = SeededRandom.splitMix(&mixer)
        s3 = SeededRandom.splitMix(&mixer)
    }

    /// A 64-bit seed derived from `seed` and `path`: use it to seed a worker
    /// or a library that takes a plain integer.
    public static func derive(seed: UInt64, path: [Int]) -> UInt64 {
        var generator = SeededRandom(seed: seed, path: path)
        return generator.next()
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }

    @inlinable
    static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
