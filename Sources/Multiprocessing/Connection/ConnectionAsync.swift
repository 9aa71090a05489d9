// The async forms of Connection.receive and receiveBytes: await a message without blocking a thread.

/// What one receive that never waits found (`Connection.receiveNow`).
enum ReceiveAttempt<Value> {
    case received(Value)
    /// No whole message has arrived yet.
    case notYet
    /// Another thread is receiving on this end.
    case busy
}

// `Message: SendableMetatype` (every type whose conformances are not isolated to an actor): messages
// are decoded on the runtime's reactor thread.
extension Connection where Message: SendableMetatype {
    /// Receives the next message without blocking a thread: the Swift-concurrency form of
    /// ``receive()`` (Python has none; its `recv` blocks). In async code, `try await end.receive()`
    /// picks this overload.
    ///
    /// Cancellation loses nothing: a receive that throws `.cancelled` took no message (bytes of a
    /// message that had begun to arrive stay buffered), and the next receive gets it. (If the
    /// cancellation comes while the runtime is taking a message for this receive, a matter of
    /// microseconds, the receive returns that message instead.)
    ///
    /// - Throws: ``ConnectionError/cancelled`` when the awaiting task is cancelled; otherwise as
    ///   ``receive()``: `.endOfFile`, `.truncated`, `.undecodable`, `.messageTooLarge`,
    ///   `.wrongDirection`, `.closed` (also when another thread closes this end meanwhile),
    ///   `.system` (also when no descriptor or thread is left for the wait).
    /// - Cost: one read attempt on the calling thread; while nothing has arrived, the task is
    ///   suspended and the runtime's one reactor thread watches this end's descriptor, then reads and
    ///   decodes the message. A blocking `receive` in another thread at the same time makes this one
    ///   retry every 1 to 20 ms until that one returns.
    public func receive() async throws(ConnectionError) -> Message {
        try await receiveAsync { connection throws(ConnectionError) in try connection.receiveNow() }
    }

    /// Receives the next message as raw bytes without blocking a thread: the Swift-concurrency
    /// form of ``receiveBytes()``.
    /// - Throws: as ``receive()-68hv2`` (the async form), except `.undecodable`.
    public func receiveBytes() async throws(ConnectionError) -> [UInt8] {
        try await receiveAsync { connection throws(ConnectionError) in try connection.receiveBytesNow() }
    }

    /// Receives the next message as raw bytes into memory the caller owns, without blocking a
    /// thread, and returns its size: the Swift-concurrency form of ``receiveBytes(into:)-1yxok``.
    ///
    /// The runtime's reactor thread may copy the message into `buffer` while the task is suspended,
    /// so `buffer` must stay allocated, and untouched by others, until the call returns, as with any
    /// memory lent to a call (an allocated buffer reused for every receive, for instance). Nothing is
    /// written to it after the call returns, cancelled or not.
    ///
    /// - Throws: ``ConnectionError/bufferTooShort(size:capacity:)`` when the message does not fit
    ///   (nothing is received: it stays next, whole); otherwise as ``receiveBytes()-q76f`` (the
    ///   async form).
    /// - Cost: as ``receiveBytes()-q76f``, with one copy into `buffer` and no allocation.
    public func receiveBytes(into buffer: UnsafeMutableRawBufferPointer) async throws(ConnectionError) -> Int {
        let lent = LentBuffer(buffer)
        return try await receiveAsync { connection throws(ConnectionError) in
            try connection.receiveBytesNow(into: lent.buffer)
        }
    }

    private func receiveAsync<T>(
        _ receiveNow: @escaping @Sendable (Connection) throws(ConnectionError) -> ReceiveAttempt<T>
    ) async throws(ConnectionError) -> T {
        // Entered for the whole wait: a close() meanwhile signals the wake descriptor, and neither
        // descriptor is closed (or its number reused) until this call has left.
        try enter(sending: false)
        defer { leave() }
        let wake = try wakeDescriptor()
        let outcome = AsyncOutcome<T, ConnectionError>()
        let ending = await AsyncWaits.shared.wait(
            on: self, .receive, until: .never,
            readiness: { [fd] in .descriptors([fd, wake], owned: false) },
            attempt: { [self] in
                do throws(ConnectionError) {
                    switch try receiveNow(self) {
                    case .received(let value): outcome.set(.success(value))
                    case .notYet: return .notYet(token: 0)
                    case .busy: return .busy
                    }
                } catch {
                    outcome.set(.failure(error))
                }
                return .finished
            })
        switch ending {
        case .finished: return try outcome.get()
        case .timedOut, .cancelled: throw .cancelled  // no deadline: only cancellation ends it early
        case .failed(let error): throw .system(error)
        }
    }
}

/// Memory a caller lends to an async receive, for the reactor thread to write into while the caller
/// is suspended: the caller keeps it alive and leaves it alone until the call returns, and no attempt
/// runs after that (see AsyncWaits).
private struct LentBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer
    init(_ buffer: UnsafeMutableRawBufferPointer) { self.buffer = buffer }
}
