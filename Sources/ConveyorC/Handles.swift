import Conveyor
import Synchronization

/// An object a C caller holds by handle: a ring, producer, consumer or loader.
///
/// Conformers are final classes (a lookup compares the exact type), and
/// `@unchecked Sendable` for one reason, stated in the C
/// header: a handle is used by one thread at a time, so the table only
/// passes each object between threads, never shares it.
protocol HandleObject: AnyObject, Sendable {
    /// What the handle is, for errors such as "handle 7 is a ring, not a producer".
    static var kind: String { get }
    /// Ends the object's work before the table lets it go (stops threads, frees lanes).
    func close()
}

extension HandleObject {
    func close() {}
}

/// The objects behind the handles given to C: numbers, never pointers, so a
/// stale or made-up handle is an error instead of a crash.
enum Handles {
    private struct Table {
        var next: UInt64 = 1
        var objects: [UInt64: Entry] = [:]
        /// The handle looked up last and its entry: a loop calls with one handle batch after batch, and this
        /// spares it the hashing.
        var recent: (handle: UInt64, entry: Entry)?

        func entry(_ handle: UInt64) -> Entry? {
            if let recent, recent.handle == handle { return recent.entry }
            return objects[handle]
        }
    }

    /// An object and its dynamic type, compared by identity on each lookup
    /// instead of a dynamic cast.
    private struct Entry {
        let object: any HandleObject
        let type: ObjectIdentifier
    }

    private static let table = Mutex(Table())

    /// Registers `object` and returns its new handle.
    static func add(_ object: any HandleObject) -> UInt64 {
        table.withLock { table in
            let handle = table.next
            table.next += 1
            table.objects[handle] = Entry(object: object, type: ObjectIdentifier(type(of: object)))
            return handle
        }
    }

    /// The object behind `handle`, which must be an `Object`.
    static func get<Object: HandleObject>(_ handle: UInt64, as _: Object.Type) throws(ConveyorError) -> Object {
        let found = table.withLock { table in
            let entry = table.entry(handle)
            if let entry { table.recent = (handle, entry) }
            return entry
        }
        guard let entry = found else {
            throw .invalidArgument("handle \(handle) is not open (never made, or closed already)")
        }
        guard entry.type == ObjectIdentifier(Object.self) else {
            throw .invalidArgument("handle \(handle) is a \(type(of: entry.object).kind), not a \(Object.kind)")
        }
        return unsafeDowncast(entry.object, to: Object.self)
    }

    /// Forgets `handle` and closes its object.
    static func remove(_ handle: UInt64) throws(ConveyorError) {
        let removed = table.withLock { table in
            if table.recent?.handle == handle { table.recent = nil }
            return table.objects.removeValue(forKey: handle)
        }
        guard let entry = removed else {
            throw .invalidArgument("handle \(handle) is not open (never made, or closed already)")
        }
        entry.object.close()
    }
}
