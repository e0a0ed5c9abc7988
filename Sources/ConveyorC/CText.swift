import Glibc
import Conveyor
import FoundationEssentials

/// Text crossing the C boundary: strings in, JSON and messages out.
/// All raw-pointer handling of the interface's text is here.
enum CText {
    /// The Swift string of `text`, or `.invalidArgument` naming `what` when it is NULL.
    static func string(_ text: UnsafePointer<CChar>?, _ what: String) throws(ConveyorError) -> String {
        guard let text else { throw .invalidArgument("\(what) is NULL") }
        return String(cString: text)
    }

    /// Decodes JSON `text` as `T`; a bad document is `.invalidArgument` naming `what`.
    static func decode<T: Decodable>(_ type: T.Type, _ text: UnsafePointer<CChar>?, _ what: String) throws(ConveyorError) -> T {
        try decode(type, from: string(text, what), what)
    }

    /// Decodes the JSON string `json` as `T`.
    static func decode<T: Decodable>(_ type: T.Type, from json: String, _ what: String) throws(ConveyorError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(json.utf8))
        } catch let error as ConveyorError {
            throw error
        } catch {
            throw .invalidArgument("\(what) is not valid JSON of the expected form (\(error)): \(json.prefix(200))")
        }
    }

    /// Gives `value` as JSON in a malloc'd string through `out`.
    static func give<T: Encodable>(_ value: T, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) throws(ConveyorError) {
        guard let out else { throw .invalidArgument("the JSON result pointer is NULL") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw .invalidArgument("cannot encode the result as JSON: \(error)")
        }
        guard let text = strdup(String(decoding: data, as: UTF8.self)) else {
            throw .systemCall(name: "strdup", errno: ENOMEM)
        }
        out.pointee = text
    }

    /// Frees a string `give` returned.
    static func free(_ text: UnsafeMutablePointer<CChar>?) {
        Glibc.free(text)
    }

    /// Copies `text` into a fixed C char array (a tuple), cut short on a
    /// UTF-8 boundary if needed, always NUL-terminated.
    static func copy<Storage>(_ text: String, into storage: inout Storage) {
        withUnsafeMutableBytes(of: &storage) { buffer in
            guard buffer.count > 0 else { return }
            var bytes = Array(text.utf8.prefix(buffer.count - 1))
            // Cut short: drop a character split at the end.
            while String(validating: bytes, as: UTF8.self) == nil { bytes.removeLast() }
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
    }
}
