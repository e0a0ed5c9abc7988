extension Schema {
    /// The index of field `name`, or `.invalidArgument` naming the fields there are.
    func ringFieldIndex(_ name: String) throws(ConveyorError) -> Int {
        guard let index = index(of: name) else {
            throw .invalidArgument("the ring has no field '\(name)'; its fields are "
                + fields.map(\.name).joined(separator: ", "))
        }
        return index
    }
}
