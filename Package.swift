// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Conveyor",
    // Linux only (Glibc or Musl): docs/PORTING.md lists what a macOS port replaces.
    products: [
        .library(name: "Conveyor", targets: ["Conveyor"]),
        .executable(name: "conveyor", targets: ["conveyor"]),
        .executable(name: "conveyor-torture", targets: ["conveyor-torture"]),
        // Conveyor for C callers (the Python package loads it): include/conveyor.h.
        .library(name: "ConveyorC", type: .dynamic, targets: ["ConveyorC"]),
        // The same, for a package of yours that builds its own library with its datasets in it.
        .library(name: "ConveyorCInterface", targets: ["ConveyorC", "ConveyorCABI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // SQLite (the system's libsqlite3) for SQLiteDataset and SQLiteShards.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // `swift package generate-documentation --target Conveyor` (Sources/Conveyor/Conveyor.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CConveyor"),
        .target(
            name: "Conveyor",
            dependencies: [
                "CConveyor",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(name: "ConveyorCABI"),
        .target(name: "ConveyorC", dependencies: ["Conveyor", "ConveyorCABI"]),
        .executableTarget(
            name: "conveyor",
            dependencies: [
                "Conveyor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Swift runtime and Foundation linked in: a process worker (this program re-run)
            // starts in ~3 ms instead of ~4–8, most of which was the dynamic loader binding their
            // symbols. Foundation's static libraries need each other, hence the group; lld, because
            // gold warns about a mktemp call inside them at every link. Only this program: the
            // test target does not depend on it (its tests run the built binary), or XCTest would
            // be linked statically too.
            linkerSettings: [
                .unsafeFlags([
                    "-static-stdlib", "-use-ld=lld", "-Xlinker", "--start-group", "-lFoundation",
                    "-lFoundationInternationalization", "-lFoundationEssentials", "-lCoreFoundation",
                    "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections", "-Xlinker", "--end-group",
                ])
            ]
        ),
        // A small program the tests spawn as a real producer or consumer process.
        // The example program of the README's "Process workers": built with the package, run by the tests.
        .executableTarget(name: "conveyor-example", dependencies: ["Conveyor"]),
        .executableTarget(name: "conveyor-test-helper", dependencies: ["Conveyor", "ConveyorTestDatasets"]),
        // Datasets the tests and the helper (their worker processes) both know.
        .target(name: "ConveyorTestDatasets", dependencies: ["Conveyor"], path: "Tests/ConveyorTestDatasets"),
        // The torture suite: its engines (and the attach fuzzer's harness, which Tests/Fuzz compiles with
        // -sanitize=fuzzer) in a library the tests run short, and the program that runs them long.
        .target(name: "ConveyorTorture", dependencies: ["Conveyor", "ConveyorTestDatasets"]),
        .executableTarget(name: "conveyor-torture", dependencies: ["ConveyorTorture", "ConveyorTestDatasets"]),
        .testTarget(
            name: "ConveyorTests",
            // Not "conveyor": `swift build --build-tests` builds it anyway, and the CLI tests run that binary.
            dependencies: [
                "Conveyor", "ConveyorTestDatasets", "ConveyorTorture", "conveyor-test-helper", "conveyor-example",
                "conveyor-torture",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
