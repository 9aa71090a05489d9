// Connection.makePipe: Python's multiprocessing.Pipe(), a factory of two connected ends.

/// Making a pipe: Python's `multiprocessing.Pipe()`.
///
/// Python's `Pipe(duplex)` is a function that returns two connections. Here it is a factory on
/// ``Connection``, `let (a, b) = try Connection<Message>.makePipe(duplex: true)`, which keeps the
/// message type and the argument and does not collide with Foundation's `Pipe`.
extension Connection {
    /// The default largest message, in bytes of its encoding: 64 MiB.
    public static var defaultMaxMessageSize: Int { 64 << 20 }

    /// Creates a pipe and returns its two ends.
    ///
    /// - `duplex: true` (the default): a Unix socket pair; both ends send and receive.
    /// - `duplex: false`: a one-way pipe; returns `(receiveEnd, sendEnd)`, in Python's order.
    ///
    /// Fork a ``ChildProcess`` after this call and both processes hold both ends: each should close
    /// the end it does not use, or the reader never sees end of file (see ``Connection/receive()-68hv2``).
    ///
    /// - Parameters:
    ///   - duplex: true for two ends that both send and receive; false for a receive end and a send end.
    ///   - maxMessageSize: the largest encoded message either end accepts (at most 4 GiB − 1). A longer
    ///     frame announced by the other side is an error, never an allocation of its size.
    /// - Throws: ``ConnectionError/invalidMaxMessageSize(_:)`` for a maximum below 1 or above 4 GiB − 1;
    ///   `.system` when the descriptors cannot be made (EMFILE: too many open files).
    /// - Cost: one `socketpair` or `pipe2` (plus two `fcntl`); two descriptors.
    public static func makePipe(duplex: Bool = true, maxMessageSize: Int = defaultMaxMessageSize)
        throws(ConnectionError) -> (Connection<Message>, Connection<Message>)
    {
        Tracing.startIfAsked()
        guard maxMessageSize > 0, maxMessageSize <= Int(UInt32.max) else {
            throw .invalidMaxMessageSize(maxMessageSize)
        }
        do throws(SystemError) {
            if duplex {
                let (first, second) = try Sys.socketPair(.stream, nonBlocking: true)
                return (
                    Connection(fd: first, kind: .duplex, maxMessageSize: maxMessageSize),
                    Connection(fd: second, kind: .duplex, maxMessageSize: maxMessageSize, traceID: first)
                )
            }
            // A pipe cannot refuse SIGPIPE per call as a socket can: ignore it, so that writing to a
            // closed reader is an EPIPE error instead of death (Python ignores it at startup, too).
            Sys.ignoreSIGPIPE()
            let (readEnd, writeEnd) = try Sys.nonBlockingPipe()
            return (
                Connection(fd: readEnd, kind: .receiveOnly, maxMessageSize: maxMessageSize),
                Connection(fd: writeEnd, kind: .sendOnly, maxMessageSize: maxMessageSize, traceID: readEnd)
            )
        } catch {
            throw .system(error)
        }
    }
}
