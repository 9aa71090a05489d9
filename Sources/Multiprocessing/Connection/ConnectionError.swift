// What a Connection call throws: misuse, end of file, framing and codec failures, system errors.

/// A misuse of a ``Connection``, or a failure to send or receive.
public enum ConnectionError: Error, Equatable, CustomStringConvertible, Sendable {
    /// This end was closed with `close()` (possibly by another thread while the call waited).
    case closed
    /// Every copy of the other end is closed and no message is left.
    case endOfFile
    /// The other end closed in the middle of a frame: `received` of `expected` bytes arrived.
    case truncated(expected: Int, received: Int)
    /// Sending failed because every copy of the other end is closed (EPIPE; no SIGPIPE).
    case peerClosed
    /// Sending on the receiving end of a one-way pipe (`.send`), or receiving on its sending end
    /// (`.receive`).
    case wrongDirection(ConnectionOperation)
    /// A message, or a frame announced by the other end, is larger than `maxMessageSize`.
    case messageTooLarge(size: Int, maximum: Int)
    /// The message could not be encoded; nothing was sent.
    case unencodable(CodecError)
    /// The bytes received are not a valid encoding of the message type (the error says which type
    /// failed, where, and why). The connection stays usable.
    case undecodable(CodecError)
    /// `makePipe(maxMessageSize:)` with a maximum below 1 or above 4 GiB − 1 (`UInt32.max`).
    case invalidMaxMessageSize(Int)
    /// A system call failed.
    case system(SystemError)
    /// The task awaiting `receive` (the async form) was cancelled; no message was taken.
    case cancelled
    /// `offset` and `count` do not pick a range of a buffer of `bufferSize` bytes: one of them is
    /// negative, or they reach past its end (``Connection/sendBytes(_:offset:count:)``,
    /// ``Connection/receiveBytes(into:offset:)``). Nothing was sent or received.
    case outOfBounds(offset: Int, count: Int, bufferSize: Int)
    /// The next message, of `size` bytes, does not fit in the `capacity` bytes offered to
    /// ``Connection/receiveBytes(into:)-1yxok`` or ``Connection/receiveBytes(into:offset:)``. Nothing
    /// was received: the message stays next, whole, for the next receive (Python's `BufferTooShort`
    /// instead takes the message and carries it).
    case bufferTooShort(size: Int, capacity: Int)

    public var description: String {
        switch self {
        case .closed:
            return "the connection is closed"
        case .endOfFile:
            return "end of file: every copy of the other end is closed"
        case .truncated(let expected, let received):
            return "the other end closed in the middle of a message: \(received) of \(expected) bytes arrived"
        case .peerClosed:
            return "cannot send: every copy of the other end is closed"
        case .wrongDirection(.send):
            return "cannot send on the receiving end of a one-way pipe"
        case .wrongDirection(.receive):
            return "cannot receive on the sending end of a one-way pipe"
        case .messageTooLarge(let size, let maximum):
            return "a message of \(size) bytes exceeds the maximum of \(maximum) bytes"
        case .unencodable(let error), .undecodable(let error):
            return error.description
        case .invalidMaxMessageSize(let size):
            return "maxMessageSize must be between 1 and \(UInt32.max), not \(size)"
        case .system(let error):
            return error.description
        case .cancelled:
            return "the task awaiting the connection was cancelled"
        case .outOfBounds(let offset, let count, let bufferSize):
            return "\(count) bytes at offset \(offset) are not within a buffer of \(bufferSize) bytes"
        case .bufferTooShort(let size, let capacity):
            return "a message of \(size) bytes does not fit in \(capacity) bytes; it is still the next message"
        }
    }
}

/// What a ``Connection`` call tried to do, in ``ConnectionError/wrongDirection(_:)``.
public enum ConnectionOperation: String, Equatable, Sendable, CustomStringConvertible {
    /// `send` or `sendBytes`.
    case send
    /// `receive`, `receiveBytes` or `poll`.
    case receive

    public var description: String { rawValue }
}

/// Its `system` case wraps a failed system call (`try ConnectionError.wrapping { … }`).
extension ConnectionError: WrapsSystemError {}
