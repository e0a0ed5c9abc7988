import Conveyor
import Glibc

/// The thread that iterates a C caller's loader. `DataLoader` lends a batch
/// in place only for the length of a closure (`next(inPlace:)`); a C caller
/// holds it between two calls instead. So this thread calls `next(inPlace:)`
/// and, inside the closure, hands the batch's memory to the caller and waits
/// until the caller releases it (or starts another epoch, or closes).
///
/// All waiting is on `BoundedQueue`s (futex waits, no polling): commands from
/// the caller to the pump, results from the pump to the caller. Every result
/// carries the generation (iteration number) it belongs to, so the caller
/// drops what an abandoned iteration still sent.
final class LoaderPump: Sendable {
    /// What the caller asks of the pump.
    enum Command: Sendable {
        /// Start iteration `generation` (abandoning the current one).
        case iterate(generation: Int)
        /// The lent batch may go back.
        case release
    }

    /// What the pump hands the caller.
    enum Result: Sendable {
        case batch(generation: Int, LentBatch)
        case end(generation: Int)
        case failed(generation: Int, ConveyorError)

        var generation: Int {
            switch self {
            case let .batch(generation, _), let .end(generation), let .failed(generation, _): generation
            }
        }
    }

    /// A batch lent in place: where its fields' bytes are.
    struct LentBatch: @unchecked Sendable {
        // @unchecked: the pointers address memory that stays put, and is not
        // written, until the caller sends `.release` (the pump waits for it).
        var epoch: Int
        var index: Int
        var count: Int
        var indices: [Int]
        var fields: [UnsafeRawBufferPointer]
        var rows: [[Int]]
    }

    let commands: BoundedQueue<Command>
    let results: BoundedQueue<Result>
    private let finished: BoundedQueue<Bool>

    init(loader: DataLoader<TensorBatch>) throws(ConveyorError) {
        commands = try BoundedQueue(capacity: 64)
        results = try BoundedQueue(capacity: 64)
        finished = try BoundedQueue(capacity: 1)
        let (commands, results, finished) = (commands, results, finished)
        try PumpThread.start {
            LoaderPump.run(loader, commands, results)
            try? finished.put(true)
        }
    }

    /// Tells the pump to end: it gives back a lent batch and leaves its
    /// iteration (stop the loader too, in case it waits for a batch).
    func close() {
        commands.close()
        results.close()
    }

    /// Waits up to `timeout` for the pump's thread to end, after `close()`.
    func waitUntilFinished(timeout: Duration) {
        _ = try? finished.get(timeout: timeout)
    }

    /// Drops the results nobody will read (those of abandoned iterations).
    func dropPendingResults() {
        while results.tryGet() != nil {}
    }

    private static func run(_ loader: DataLoader<TensorBatch>, _ commands: BoundedQueue<Command>,
                            _ results: BoundedQueue<Result>) {
        var pending: Int?
        while true {
            let generation: Int
            if let next = pending {
                generation = next
                pending = nil
            } else {
                guard let command = try? commands.get() else { return }  // closed: the caller is gone
                guard case let .iterate(next) = command else { continue }  // a release of an abandoned batch
                generation = next
            }
            var batches = loader.makeBatchIterator()
            iterating: while true {
                let outcome: Command??
                do {
                    outcome = try batches.next(inPlace: { (view: borrowing BatchView) -> Command? in
                        try? results.put(.batch(generation: generation, lend(view)))
                        return try? commands.get()  // nil: closed
                    })
                } catch {
                    try? results.put(.failed(generation: generation, error as? ConveyorError
                        ?? .sourceFailed(index: nil, worker: nil, message: "\(error)")))
                    break iterating
                }
                switch outcome {
                case nil:
                    try? results.put(.end(generation: generation))
                    break iterating
                case .some(nil):
                    return
                case .some(.release?):
                    continue
                case let .some(.iterate(next)?):
                    pending = next
                    break iterating
                }
            }
        }
    }

    private static func lend(_ view: borrowing BatchView) -> LentBatch {
        // The view's bytes stay put while the closure that lent it runs, and it waits for `.release`.
        LentBatch(view, fields: view.schema.fields.map { field in
            (try? view.withUnsafeBytes(of: field.name) { $0 }) ?? UnsafeRawBufferPointer(start: nil, count: 0)
        })
    }
}

extension LoaderPump.LentBatch {
    /// `view`'s place and rows, its fields' bytes at `fields`.
    init(_ view: borrowing BatchView, fields: [UnsafeRawBufferPointer]) {
        self.init(
            epoch: view.epoch, index: view.index, count: view.count, indices: Array(view.indices), fields: fields,
            rows: view.schema.fields.map { (try? view.rows(of: $0.name)) ?? [] })
    }
}

/// Starts detached threads for the C interface's pumps.
enum PumpThread {
    /// Runs `body` on a new detached thread.
    static func start(_ body: @escaping @Sendable () -> Void) throws(ConveyorError) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw .systemCall(name: "pthread_create", errno: result)
        }
        pthread_detach(thread)
    }
}
