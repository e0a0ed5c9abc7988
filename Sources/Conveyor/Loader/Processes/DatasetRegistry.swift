import Synchronization

/// The dataset description types a worker process can decode, by type name.
/// `WorkerProcess.bootstrap(datasets:)` registers the program's own; the
/// built-in ones are always there.
public enum DatasetRegistry {
    private static let types = Mutex<[String: any DatasetDescription.Type]>([
        SyntheticImageDataset.typeName: SyntheticImageDataset.self,
        NumpyDataset.Description.typeName: NumpyDataset.Description.self,
        DirectoryDataset.Description.typeName: DirectoryDataset.Description.self,
        TarShards.Description.typeName: TarShards.Description.self,
        SQLiteDataset.Description.typeName: SQLiteDataset.Description.self,
        SQLiteShards.Description.typeName: SQLiteShards.Description.self,
    ])

    /// Registers `type` under its `typeName`. Registering the same type again
    /// does nothing; another type under a name already taken is an error.
    public static func register<Description: DatasetDescription>(_ type: Description.Type) throws(ConveyorError) {
        try types.withLock { (types: inout [String: any DatasetDescription.Type]) throws(ConveyorError) in
            if let existing = types[Description.typeName], ObjectIdentifier(existing) != ObjectIdentifier(type) {
                throw .invalidArgument(
                    "dataset type name '\(Description.typeName)' is taken by \(existing); "
                        + "give \(Description.self) another typeName")
            }
            types[Description.typeName] = type
        }
    }

    /// The type registered under `name`.
    package static func type(named name: String) -> (any DatasetDescription.Type)? {
        types.withLock { $0[name] }
    }

    /// Whether `type` itself is registered under its name.
    public static func contains<Description: DatasetDescription>(_ type: Description.Type) -> Bool {
        types.withLock { $0[Description.typeName].map { ObjectIdentifier($0) == ObjectIdentifier(type) } ?? false }
    }
}
