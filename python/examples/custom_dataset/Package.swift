// swift-tools-version: 6.0
// A dataset of your own, fed to Python: a library that embeds Conveyor's C
// interface and registers the dataset's description type (Python loads it
// with CONVEYOR_LIBRARY), and a worker program that hosts the dataset.
import Foundation
import PackageDescription

// The Conveyor package: this example sits in its python/examples folder.
let conveyor = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../..").standardizedFileURL
let conveyorPackage = conveyor.lastPathComponent.lowercased()

let package = Package(
    name: "SquaresDataset",
    products: [
        .library(name: "SquaresConveyor", type: .dynamic, targets: ["SquaresDataset"]),
        .executable(name: "squares-workers", targets: ["squares-workers"]),
        // The Swift side of `python -m conveyor.bench torch-npy`.
        .executable(name: "loader-epoch", targets: ["loader-epoch"]),
    ],
    dependencies: [.package(path: conveyor.path)],
    targets: [
        .target(name: "SquaresDataset", dependencies: [
            .product(name: "Conveyor", package: conveyorPackage),
            .product(name: "ConveyorCInterface", package: conveyorPackage),
        ]),
        .executableTarget(name: "squares-workers", dependencies: ["SquaresDataset"]),
        .executableTarget(name: "loader-epoch", dependencies: [.product(name: "Conveyor", package: conveyorPackage)]),
    ],
    swiftLanguageModes: [.v6]
)
