// libFuzzer's entry point for the attach fuzzer: every input goes to the
// harness in ConveyorTorture (AttachFuzz), which stops the process on a broken
// promise. Compiled by run.sh with -sanitize=fuzzer; not part of the package.
import ConveyorTorture

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAttach(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    _ = AttachFuzz.run(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
