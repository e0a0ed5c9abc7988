/// The job of one producing worker thread, the same for the prefetcher's
/// workers and the loader's: make the worker's items in order and hand each
/// one on, until the items run out, the iteration is stopped, the consumer's
/// side closes, or an item fails — its failure is handed on in its place and
/// the worker makes nothing more, so the consumer meets it at its position.
@usableFromInline
enum WorkerProduction {
    /// Makes `items` with `make` and gives each outcome to `deliver`.
    /// `isStopped` is asked before each item; `deliver` returns false when
    /// the consumer's side is closed, which ends the job.
    @inlinable
    static func run<Items: Sequence, Made>(
        _ items: Items,
        isStopped: () -> Bool,
        make: (_ item: Int) throws(ConveyorError) -> Made,
        deliver: (_ item: Int, _ outcome: Result<Made, ConveyorError>) -> Bool
    ) where Items.Element == Int {
        for item in items {
            if isStopped() { return }
            let outcome: Result<Made, ConveyorError>
            do {
                outcome = .success(try make(item))
            } catch {
                outcome = .failure(error)
            }
            guard deliver(item, outcome) else { return }
            if case .failure = outcome { return }
        }
    }
}
