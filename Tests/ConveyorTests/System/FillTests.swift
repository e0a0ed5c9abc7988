import CConveyor
import Testing

/// `cconveyor_fill_32`, the string-store fill the benchmark's producers use.
@Suite struct FillTests {
    @Test(arguments: [0, 1, 3, 16, 1_000, 1 << 20])
    func fillsExactlyCountWordsWithTheValue(count: Int) {
        let guardWords = 8, sentinel: UInt32 = 0xDEAD_BEEF
        let words = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: count + 2 * guardWords)
        defer { words.deallocate() }
        words.initialize(repeating: sentinel)
        let value = Float(-1234.5).bitPattern
        cconveyor_fill_32(words.baseAddress! + guardWords, count, value)
        #expect(words[guardWords..<(guardWords + count)].allSatisfy { $0 == value })
        #expect(words[..<guardWords].allSatisfy { $0 == sentinel }, "a word before the start was written")
        #expect(words[(guardWords + count)...].allSatisfy { $0 == sentinel }, "a word past the end was written")
    }
}
