import Testing
@testable import Conveyor

/// The CLI carries the Swift runtime and Foundation inside it (Package.swift
/// links them statically), so that a process worker, which is the CLI re-run,
/// starts without the dynamic loader binding their symbols.
@Suite struct CLILinkingTests {
    @Test func theCLILoadsNoSwiftOrFoundationLibrary() throws {
        // LD_TRACE_LOADED_OBJECTS makes the dynamic loader list the libraries
        // it would load, and exit before main (what ldd does).
        let listing = try HelperProcess([], environment: ["LD_TRACE_LOADED_OBJECTS": "1"], executable: conveyorPath)
        #expect(try listing.child.wait(timeout: .seconds(60)) == .exited(0), "\(listing.stderr)")
        let libraries = listing.stdout
        try #require(libraries.contains("libc.so"), "no library listing from \(conveyorPath): \(libraries)")
        for name in ["libswiftCore", "libswift_Concurrency", "libdispatch", "libFoundation"] {
            #expect(!libraries.contains(name), "\(conveyorPath) loads \(name) dynamically:\n\(libraries)")
        }
    }
}
