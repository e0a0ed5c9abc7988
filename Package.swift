// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Conveyor",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Conveyor", targets: ["Conveyor"]),
        .executable(name: "conveyor", targets: ["conveyor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // SQLite (the system's libsqlite3) for SQLiteDataset and SQLiteShards.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
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
        .executableTarget(
            name: "conveyor",
            dependencies: [
                "Conveyor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // A small program the tests spawn as a real producer or consumer process.
        // The example program of the README's "Process workers": built with the package, run by the tests.
        .executableTarget(name: "conveyor-example", dependencies: ["Conveyor"]),
        .executableTarget(name: "conveyor-test-helper", dependencies: ["Conveyor", "ConveyorTestDatasets"]),
        // Datasets the tests and the helper (their worker processes) both know.
        .target(name: "ConveyorTestDatasets", dependencies: ["Conveyor"], path: "Tests/ConveyorTestDatasets"),
        .testTarget(
            name: "ConveyorTests",
            dependencies: ["Conveyor", "ConveyorTestDatasets", "conveyor-test-helper", "conveyor-example", "conveyor"]),
    ],
    swiftLanguageModes: [.v6]
)
