/// A dataset over an in-memory array: sample `i` is `elements[i]`.
///
/// ```swift
/// let numbers = ArrayDataset(Array(0..<100))
/// ```
public struct ArrayDataset<Element: Sendable>: Dataset {
    /// The samples.
    public let elements: [Element]

    /// A dataset of `elements`, in order.
    public init(_ elements: [Element]) {
        self.elements = elements
    }

    /// The number of elements.
    public var count: Int { elements.count }

    /// `elements[index]`; throws for an index out of range.
    public func sample(at index: Int) throws -> Element {
        guard elements.indices.contains(index) else {
            throw ConveyorError.invalidArgument("index \(index) is outside the dataset's 0..<\(count)")
        }
        return elements[index]
    }

    /// The elements at `indices`, gathered at once.
    public func samples(at indices: ArraySlice<Int>, context: SampleContext) throws -> [Element] {
        for index in indices where !elements.indices.contains(index) {
            _ = try context.blaming(index: index) { try sample(at: index) }
        }
        return indices.map { elements[$0] }
    }
}
