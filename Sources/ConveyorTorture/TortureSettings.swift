import Conveyor

/// How one torture part runs: its seed (printed, so a failure can be
/// replayed), how long it may take, how many rounds at most, and the
/// program its child processes run (`conveyor-torture`, which serves every
/// `TortureRole` and hosts DataLoader workers).
public struct TortureSettings: Sendable {
    /// The seed every random choice derives from.
    public var seed: UInt64
    /// The time the part may take; it stops starting rounds after it.
    public var budget: Duration
    /// The rounds (or executions, for the fuzzer) at most; nil: as many as the budget allows.
    public var rounds: Int?
    /// The torture program, run as the child processes.
    public var executable: String
    /// Where progress lines go.
    public var log: @Sendable (String) -> Void

    /// Settings; see the properties.
    public init(
        seed: UInt64, budget: Duration, rounds: Int? = nil, executable: String,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.seed = seed
        self.budget = budget
        self.rounds = rounds
        self.executable = executable
        self.log = log
    }

    /// The settings of part `part`: its own seed, derived from `seed` and its name.
    public func forPart(_ part: TorturePart) -> TortureSettings {
        var copy = self
        copy.seed = seed ^ part.rawValue.utf8.reduce(UInt64(0xCBF2_9CE4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
        return copy
    }

    /// Whether another round may start: under the round limit and within the budget since `start`.
    func mayContinue(round: Int, since start: ContinuousClock.Instant, minimumRounds: Int = 1) -> Bool {
        if let rounds, round >= rounds { return false }
        if round < minimumRounds { return true }
        return ContinuousClock.now - start < budget
    }
}

/// The parts of the torture suite, each a promise checked round after round.
public enum TorturePart: String, CaseIterable, Sendable {
    /// Producers killed (SIGKILL) at random instants; every delivered item checked.
    case ringKill = "ring-kill"
    /// Consumers killed: blocked producers get `consumerGone`; shared rings lose and duplicate nothing.
    case consumerKill = "consumer-kill"
    /// DataLoader workers killed, stopped and crashed; the resumed run gives the uninterrupted batches.
    case loaderKill = "loader-kill"
    /// Random mutations of real segments and raw bytes through attach and every row count read.
    case attachFuzz = "attach-fuzz"
    /// Producers and consumers for a long time with resets and restarts: memory and descriptors flat.
    case soak
    /// A nearly full /dev/shm: creation fails with a clear error, never a SIGBUS.
    case shmFull = "shm-full"
    /// A named segment truncated by another process while mapped: its users get errors, never a SIGBUS.
    case truncation
}
