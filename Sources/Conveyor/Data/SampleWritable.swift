/// A value that can write itself through a schema into a `SampleWriter`: into
/// one row of a collated batch in memory, or (with the process backend) straight
/// into a shared-memory slot.
public protocol SampleWritable: Sendable {
    /// Writes this value's fields into `writer`, setting each variable field's rows.
    func write(into writer: inout SampleWriter) throws
}
