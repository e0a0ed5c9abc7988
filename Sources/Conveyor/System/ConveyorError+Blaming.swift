extension ConveyorError {
    /// `error` as a `.sourceFailed` naming `index` and `worker`, unless it
    /// already is one (then it is kept as it is: the innermost blame wins).
    /// The one rule by which every producer blames a failure.
    @usableFromInline
    init(blaming error: any Error, index: Int? = nil, worker: Int?) {
        switch error {
        case let error as ConveyorError:
            if case .sourceFailed = error { self = error } else {
                self = .sourceFailed(index: index, worker: worker, message: error.description)
            }
        default:
            self = .sourceFailed(index: index, worker: worker, message: String(describing: error))
        }
    }

    /// Runs `body`; an error it throws is blamed on `index` and `worker` (`init(blaming:index:worker:)`).
    @inlinable
    static func blaming<Result>(index: Int?, worker: Int?, _ body: () throws -> Result) throws(ConveyorError) -> Result {
        do {
            return try body()
        } catch {
            throw ConveyorError(blaming: error, index: index, worker: worker)
        }
    }
}
