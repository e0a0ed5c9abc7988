extension Field {
    /// Checks that a sample may use `count` rows of this field: 0 up to its maximum.
    func checkRows(_ count: Int) throws(ConveyorError) {
        guard count >= 0 else {
            throw .invalidArgument("field '\(name)' cannot hold \(count) rows; pass 0 or more")
        }
        guard count <= maxRows else {
            throw .itemTooLarge(field: name, length: count, maximum: maxRows)
        }
    }
}
