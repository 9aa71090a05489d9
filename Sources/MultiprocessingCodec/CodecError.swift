/// Why the binary codec could not encode a value, or could not decode bytes into a type.
///
/// Decoding errors name the type that was being decoded (``type``), the byte offset in the input
/// where the problem is (``offset``), and the coding path from the top-level type (`path`, e.g.
/// `Order.items[2].name`). Malformed input of any kind ends in one of these errors: the decoder
/// never crashes, and never allocates more than the input's own bytes can fill.
public enum CodecError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The input ends inside a value: a number, a tag or a length was cut off.
    case truncated(type: String, offset: Int, path: String)
    /// A length prefix (of a string, an array or a container) says more bytes than the input has
    /// left. Nothing was allocated for it.
    case lengthOutOfRange(type: String, offset: Int, path: String, length: UInt64, remaining: Int)
    /// The bytes at `offset` hold another kind of value than the type expects, e.g. a String where
    /// an Int was expected: sender and receiver disagree about the message type.
    case typeMismatch(type: String, offset: Int, path: String, found: String)
    /// Bytes that are not a valid encoding: an unknown tag, invalid UTF-8, an over-long varint, a
    /// container used after it was finished.
    case invalidData(type: String, offset: Int, path: String, reason: String)
    /// A keyed value (a struct, a class, an enum case) lacks a key its type needs.
    case keyNotFound(type: String, offset: Int, path: String, key: String)
    /// The value ended before the input did: `count` bytes were left over.
    case trailingBytes(type: String, offset: Int, count: Int)
    /// Values nested deeper than the limit (a recursive type); the limit protects the stack.
    case tooDeep(type: String, offset: Int, path: String, limit: Int)
    /// The type's own `init(from:)` refused the data, e.g. an unknown raw value for an enum.
    case rejected(type: String, offset: Int, path: String, reason: String)
    /// Encoding failed: the value's `encode(to:)` threw, used its containers out of order, nested
    /// too deep, or is larger than 4 GiB.
    case unencodable(type: String, path: String, reason: String)

    /// The type that was being encoded or decoded when the error happened.
    public var type: String {
        switch self {
        case .truncated(let type, _, _), .lengthOutOfRange(let type, _, _, _, _), .typeMismatch(let type, _, _, _),
            .invalidData(let type, _, _, _), .keyNotFound(let type, _, _, _), .trailingBytes(let type, _, _),
            .tooDeep(let type, _, _, _), .rejected(let type, _, _, _), .unencodable(let type, _, _):
            return type
        }
    }

    /// The byte offset in the input where decoding failed; nil for encoding errors.
    public var offset: Int? {
        switch self {
        case .truncated(_, let offset, _), .lengthOutOfRange(_, let offset, _, _, _),
            .typeMismatch(_, let offset, _, _),
            .invalidData(_, let offset, _, _), .keyNotFound(_, let offset, _, _), .trailingBytes(_, let offset, _),
            .tooDeep(_, let offset, _, _), .rejected(_, let offset, _, _):
            return offset
        case .unencodable:
            return nil
        }
    }

    public var description: String {
        switch self {
        case .truncated(let type, let offset, let path):
            return "cannot decode \(type) at byte \(offset) (\(path)): the input ends inside the value"
        case .lengthOutOfRange(let type, let offset, let path, let length, let remaining):
            return "cannot decode \(type) at byte \(offset) (\(path)): a length of \(length) bytes exceeds "
                + "the \(remaining) bytes left"
        case .typeMismatch(let type, let offset, let path, let found):
            return "cannot decode \(type) at byte \(offset) (\(path)): found \(found)"
        case .invalidData(let type, let offset, let path, let reason):
            return "cannot decode \(type) at byte \(offset) (\(path)): \(reason)"
        case .keyNotFound(let type, let offset, let path, let key):
            return "cannot decode \(type) at byte \(offset) (\(path)): no value for key '\(key)'"
        case .trailingBytes(let type, let offset, let count):
            return "cannot decode \(type): \(count) unexpected bytes after the value, from byte \(offset)"
        case .tooDeep(let type, let offset, let path, let limit):
            return "cannot decode \(type) at byte \(offset) (\(path)): values nested more than \(limit) deep"
        case .rejected(let type, let offset, let path, let reason):
            return "cannot decode \(type) at byte \(offset) (\(path)): \(reason)"
        case .unencodable(let type, let path, let reason):
            return "cannot encode \(type) (\(path)): \(reason)"
        }
    }
}

extension CodecError {
    /// The same error one key deeper: `key` appended to its path.
    func appending(_ key: any CodingKey) -> CodecError {
        func deeper(_ path: String) -> String { describePath(root: path, [key]) }
        switch self {
        case .truncated(let type, let offset, let path):
            return .truncated(type: type, offset: offset, path: deeper(path))
        case .lengthOutOfRange(let type, let offset, let path, let length, let remaining):
            return .lengthOutOfRange(
                type: type, offset: offset, path: deeper(path), length: length, remaining: remaining)
        case .typeMismatch(let type, let offset, let path, let found):
            return .typeMismatch(type: type, offset: offset, path: deeper(path), found: found)
        case .invalidData(let type, let offset, let path, let reason):
            return .invalidData(type: type, offset: offset, path: deeper(path), reason: reason)
        case .keyNotFound(let type, let offset, let path, let missing):
            return .keyNotFound(type: type, offset: offset, path: deeper(path), key: missing)
        case .tooDeep(let type, let offset, let path, let limit):
            return .tooDeep(type: type, offset: offset, path: deeper(path), limit: limit)
        case .rejected(let type, let offset, let path, let reason):
            return .rejected(type: type, offset: offset, path: deeper(path), reason: reason)
        case .trailingBytes, .unencodable:
            return self
        }
    }
}

/// The text of an error that a type's own `encode(to:)` or `init(from:)` threw.
func reasonText(_ error: any Error) -> String {
    func context(_ context: DecodingError.Context) -> String { context.debugDescription }
    if let error = error as? DecodingError {
        switch error {
        case .dataCorrupted(let c): return context(c)
        case .keyNotFound(let key, let c):
            return "no value for key '\(key.stringValue)'" + (c.debugDescription.isEmpty ? "" : ": " + context(c))
        case .typeMismatch(let type, let c): return "expected \(type): " + context(c)
        case .valueNotFound(let type, let c): return "expected \(type), found nil: " + context(c)
        @unknown default: return String(describing: error)
        }
    }
    if let error = error as? EncodingError {
        switch error {
        case .invalidValue(let value, let c): return "invalid value \(value): " + c.debugDescription
        @unknown default: return String(describing: error)
        }
    }
    return String(describing: error)
}
