extension ConveyorError {
    /// `error` as a `.sourceFailed` naming `index` and `worker`, unless it
    /// already is one (then it is kept as it is: the innermost blame wins).
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
}
