// Connection and Connection.makePipe: Python's multiprocessing.Pipe, typed over a Codable message.

import Glibc
import Synchronization

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
        guard maxMessageSize > 0, maxMessageSize <= Int(UInt32.max) else {
            throw .invalidMaxMessageSize(maxMessageSize)
        }
        do throws(SystemError) {
            if duplex {
                let (first, second) = try Sys.socketPair()
                return (
                    Connection(fd: first, kind: .duplex, maxMessageSize: maxMessageSize),
                    Connection(fd: second, kind: .duplex, maxMessageSize: maxMessageSize)
                )
            }
            // A pipe cannot refuse SIGPIPE per call as a socket can: ignore it, so that writing to a
            // closed reader is an EPIPE error instead of death (Python ignores it at startup, too).
            Sys.ignoreSIGPIPE()
            let (readEnd, writeEnd) = try Sys.nonBlockingPipe()
            return (
                Connection(fd: readEnd, kind: .receiveOnly, maxMessageSize: maxMessageSize),
                Connection(fd: writeEnd, kind: .sendOnly, maxMessageSize: maxMessageSize)
            )
        } catch {
            throw .system(error)
        }
    }
}

/// One end of a pipe made by ``makePipe(duplex:maxMessageSize:)``: sends and receives whole `Message`s (any Codable type) between processes.
///
/// Each message is a frame: a 4-byte little-endian length, then the message in the binary codec
/// (``sendBytes(_:)`` sends raw bytes instead). A message is written with one system call. Reading
/// takes whatever has arrived, up to 64 KiB, in one system call, so a burst of small messages costs one
/// read, not two per message. The bytes read belong to this process: an end must be read by one
/// process at a time (two processes reading one end, even under a ``Lock`` as Python allows, can
/// split messages between them; use a ``Queue`` for several consumers). A forked child that inherits an end
/// also inherits what this process had read but not yet received, so an end can be handed to a child.
///
/// Waiting: a receiver whose messages have recently arrived quickly spins for up to 20 µs before it
/// sleeps, which halves a ping-pong's round trip; one that waits long does not spin.
///
/// Thread safety: any thread may call any method. Sends from several threads are serialized, and
/// so are receives, so frames never interleave within a process. ``close()`` from one thread wakes
/// the others that are blocked in ``receive()-68hv2``, ``send(_:)`` or ``poll(timeout:)`` on this end; they throw
/// ``ConnectionError/closed``. The descriptor itself is closed when the last of them has returned,
/// so its number is never reused under a call in flight. An end that is copied into a child by
/// `fork` (any ``ChildProcess/start()``) is fresh in the child: its locks are re-made there, and the
/// child's `close()` closes only the child's copy.
///
/// Every descriptor is close-on-exec. No method dies of SIGPIPE: sending to an end whose every copy
/// is closed throws `peerClosed`. Signals never lose or duplicate data: EINTR is retried.
public final class Connection<Message: Codable>: @unchecked Sendable {
    enum Kind {
        case duplex, receiveOnly, sendOnly
    }

    /// True when this end can receive (``receive()-68hv2``, ``receiveBytes()-73kgr``, ``poll(timeout:)``).
    public var isReadable: Bool { kind != .sendOnly }
    /// True when this end can send (``send(_:)``, ``sendBytes(_:)``).
    public var isWritable: Bool { kind != .receiveOnly }
    /// The largest encoded message this end sends or accepts, in bytes.
    public let maxMessageSize: Int

    let fd: Int32
    let kind: Kind
    /// The fork generation this object was last adopted in (see `ForkGeneration`).
    private let generation = Atomic<UInt64>(ForkGeneration.current)

    /// Bit 0: closed. Bit 1: the descriptor was released (closed for real). Bits 2…: calls in
    /// progress. The descriptor is released when it is closed and no call is in progress.
    private let lifecycle = Atomic<Int>(0)
    private static var closedBit: Int { 1 }
    private static var releasedBit: Int { 2 }
    private static var oneUser: Int { 4 }

    /// Guards `wakeFd`, made on the first wait; `close()` makes it readable to wake every waiter.
    private let wakeLock = LocalMutex()
    @exclusivity(unchecked) private var wakeFd: Int32 = -1

    /// Serialize receives and sends, so frames are read and written whole.
    private let readLock = LocalMutex()
    private let writeLock = LocalMutex()

    // Guarded by `writeLock`: the encoder and the buffer each frame is built in.
    private let encoder = EncoderCore(buffer: ByteBuffer(capacity: 4096), maxDepth: BinaryDecoder.defaultMaxDepth)

    // Guarded by `readLock`: the decoder, the bytes read and not yet received (cut into frames by
    // `frames`, which starts at 16 bytes and grows to 64 KiB on the first receive), a fatal framing
    // error, and the spin-before-sleep credit.
    private let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
    private let frames = FrameBuffer(chunk: Connection.readChunk, initialCapacity: 16)
    @exclusivity(unchecked) private var framingError: ConnectionError?
    @exclusivity(unchecked) private var spinCredit = 1
    /// `frames.buffered`, for `poll` to read without taking `readLock`.
    private let buffered = Atomic<Int>(0)

    /// The read buffer's usual size; it grows for a larger message and shrinks back after it.
    private static var readChunk: Int { 64 << 10 }
    /// Write buffers grown past this for a large message are given back after it.
    private static var keptBufferSize: Int { 1 << 20 }
    private static var spinLimit: Duration { .microseconds(20) }

    init(fd: Int32, kind: Kind, maxMessageSize: Int) {
        _ = ForkGeneration.installed
        self.fd = fd
        self.kind = kind
        self.maxMessageSize = maxMessageSize
    }

    deinit {
        if lifecycle.load(ordering: .relaxed) & Self.releasedBit == 0 {
            Sys.close(fd)
            if wakeFd >= 0 { Sys.close(wakeFd) }
        }
    }

    // MARK: Sending

    /// Sends one message. Blocks while the pipe is full (the reader is slow), never longer.
    ///
    /// - Throws: ``ConnectionError/wrongDirection(_:)`` on a receive-only end; `.closed` after ``close()``;
    ///   `.unencodable` when the message cannot be encoded (nothing is sent); `.messageTooLarge`
    ///   over ``maxMessageSize`` (nothing is sent); `.peerClosed` when every copy of the other end is
    ///   closed; `.system` for other failures.
    /// - Cost: encoding into a reused buffer, then one write system call for a message that fits
    ///   the pipe (more for one larger than the pipe's buffer, as the reader drains it).
    public func send(_ message: Message) throws(ConnectionError) {
        try enter(sending: true)
        defer { leave() }
        try writeLock.withLock { () throws(ConnectionError) in
            try checkOpen()
            let buffer = encoder.buffer
            defer { if buffer.capacity > Self.keptBufferSize { buffer.reset(keepingAtMost: Self.keptBufferSize) } }
            buffer.count = 0
            buffer.append(raw: UInt32(0))  // the frame's length, filled in below
            do throws(CodecError) {
                try encoder.encode(message)
            } catch {
                throw .unencodable(error)
            }
            let length = buffer.count - 4
            guard length <= maxMessageSize else { throw .messageTooLarge(size: length, maximum: maxMessageSize) }
            buffer.store(UInt32(length), at: 0)
            try writeFrame(header: UnsafeRawBufferPointer(start: buffer.base, count: buffer.count), payload: nil)
        }
    }

    /// Sends raw bytes as one message, without the codec (Python's `send_bytes`). An empty array is
    /// a message too. The other end reads it with ``receiveBytes()-73kgr``.
    ///
    /// - Throws: as ``send(_:)``.
    /// - Cost: one gathering write of the length and the bytes; no copy.
    public func sendBytes(_ bytes: [UInt8]) throws(ConnectionError) {
        try enter(sending: true)
        defer { leave() }
        guard bytes.count <= maxMessageSize else { throw .messageTooLarge(size: bytes.count, maximum: maxMessageSize) }
        try writeLock.withLock { () throws(ConnectionError) in
            try checkOpen()
            var header = UInt32(bytes.count).littleEndian
            do {
                try withUnsafeBytes(of: &header) { header in
                    try bytes.withUnsafeBytes { payload in try writeFrame(header: header, payload: payload) }
                }
            } catch {
                throw error as! ConnectionError  // withUnsafeBytes rethrows untyped: only ours can come out
            }
        }
    }

    /// Writes a whole frame, `header` then `payload`, waiting while the pipe is full.
    private func writeFrame(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer?) throws(ConnectionError) {
        let total = header.count + (payload?.count ?? 0)
        var written = 0
        var parts = (iovec(), iovec())
        while written < total {
            let transfer = try withUnsafeMutableBytes(of: &parts) { (raw) throws(ConnectionError) -> Sys.Transfer in
                let vector = raw.bindMemory(to: iovec.self)
                var count = 0
                if written < header.count {
                    vector[0] = iovec(
                        iov_base: UnsafeMutableRawPointer(mutating: header.baseAddress! + written),
                        iov_len: header.count - written)
                    count = 1
                }
                if let payload, payload.count > 0 {
                    let skip = max(0, written - header.count)
                    vector[count] = iovec(
                        iov_base: UnsafeMutableRawPointer(mutating: payload.baseAddress! + skip),
                        iov_len: payload.count - skip)
                    count += 1
                }
                do throws(SystemError) {
                    return try Sys.writeOnce(
                        fd, UnsafeMutableBufferPointer(rebasing: vector[0..<count]), socket: kind == .duplex)
                } catch  where error.errno == EPIPE || error.errno == ECONNRESET {
                    throw .peerClosed
                } catch {
                    throw .system(error)
                }
            }
            switch transfer {
            case .bytes(let count): written += count
            case .wouldBlock: _ = try wait(writable: true, deadline: nil)
            }
        }
    }

    // MARK: Receiving

    /// Receives the next message, blocking until one has arrived whole.
    ///
    /// End of file: when every copy of the other end is closed — including copies that forked
    /// children inherited — and no message is left, `receive()` throws `.endOfFile`. A child that
    /// keeps an unused copy of the sending end open keeps the reader waiting for ever: close the
    /// ends you do not use.
    ///
    /// - Throws: ``ConnectionError/endOfFile``; `.truncated` when the other end closed in the middle of
    ///   a message; `.undecodable` when the bytes are not a `Message` (the error names the type and
    ///   the offset; the next message can still be received); `.messageTooLarge` when a frame
    ///   announces more than ``maxMessageSize`` (nothing is allocated; the stream is unusable after
    ///   it); `.wrongDirection` on a send-only end; `.closed` after ``close()``, also when another
    ///   thread closes this end while the call waits; `.system` for other failures.
    /// - Cost: decoding, plus at most one read system call (none when an earlier read brought the
    ///   message along); a message larger than 64 KiB takes a few more.
    public func receive() throws(ConnectionError) -> Message {
        try receiveFrame(decode)
    }

    /// With `readLock` held: the message in a frame.
    private func decode(_ frame: UnsafeRawBufferPointer) throws(ConnectionError) -> Message {
        do throws(CodecError) {
            return try decoder.decode(Message.self, from: frame)
        } catch {
            throw .undecodable(error)
        }
    }

    /// Receives the next message as raw bytes, without the codec (Python's `recv_bytes`).
    /// - Throws: as ``receive()-68hv2``, except `.undecodable`.
    public func receiveBytes() throws(ConnectionError) -> [UInt8] {
        try receiveFrame { (frame) throws(ConnectionError) -> [UInt8] in Array(frame) }
    }

    private func receiveFrame<T>(_ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> T) throws(ConnectionError)
        -> T
    {
        try enter(sending: false)
        defer { leave() }
        return try readLock.withLock { () throws(ConnectionError) -> T in
            try takeFrame(waiting: true, body)!
        }
    }

    /// With `readLock` held: the next frame, handed to `body`. Without `waiting`, nil when no whole
    /// frame has arrived (what has arrived stays buffered for the next call).
    private func takeFrame<T>(waiting: Bool, _ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> T)
        throws(ConnectionError) -> T?
    {
        try checkOpen()
        if let framingError { throw framingError }
        while true {
            let needed: Int
            switch frames.next(maxLength: maxMessageSize) {
            case .frame(let frame):
                defer {
                    // An empty buffer starts again at the front; one grown for a large message shrinks now.
                    frames.releaseGrowth()
                    buffered.store(frames.buffered, ordering: .relaxed)
                }
                return try body(frame)
            case .tooLarge(let length):
                // The rest of the stream cannot be trusted: this and every later receive fail.
                framingError = .messageTooLarge(size: length, maximum: maxMessageSize)
                throw .messageTooLarge(size: length, maximum: maxMessageSize)
            case .needs(let count):
                needed = count
            }
            guard let count = try fill(frames.space(forFrameOf: needed), waiting: waiting) else { return nil }
            if count == 0 {
                if frames.buffered == 0 { throw .endOfFile }
                throw .truncated(expected: needed, received: frames.buffered)
            }
        }
    }

    /// Reads what has arrived into `space`, waiting for something to arrive: spinning for a few
    /// microseconds first when recent messages came that fast. Returns the number of bytes read
    /// (recorded in `frames`); 0 at end of file; nil when nothing has arrived and `waiting` is false.
    private func fill(_ space: UnsafeMutableRawBufferPointer, waiting: Bool) throws(ConnectionError) -> Int? {
        var spinStart: ContinuousClock.Instant?
        while true {
            let transfer: Sys.Transfer
            do throws(SystemError) {
                transfer = try Sys.readOnce(fd, into: space.baseAddress!, count: space.count)
            } catch {
                throw .system(error)
            }
            switch transfer {
            case .bytes(let count):
                if spinStart != nil { spinCredit = min(spinCredit + 1, 4) }
                frames.didRead(count)
                buffered.store(frames.buffered, ordering: .relaxed)
                return count
            case .wouldBlock:
                if !waiting { return nil }
                if spinCredit > 0 {
                    let now = ContinuousClock.now
                    if spinStart == nil { spinStart = now }
                    if now - spinStart! < Self.spinLimit { continue }
                }
                let sleptAt = ContinuousClock.now
                _ = try wait(writable: false, deadline: nil)
                // A wait about as short as a spin earns spinning; a long one costs it.
                let waited = ContinuousClock.now - (spinStart ?? sleptAt)
                spinCredit = waited < Self.spinLimit * 2 ? min(spinCredit + 1, 4) : max(spinCredit - 1, 0)
                spinStart = nil
            }
        }
    }

    /// Whether a message (or end of file) is ready to be received now, without waiting: Python's
    /// `poll()` with no argument.
    ///
    /// - Throws: as ``poll(timeout:)``.
    public func poll() throws(ConnectionError) -> Bool {
        try poll(timeout: .zero)
    }

    /// Whether a message (or end of file) is ready to be received, waiting up to `timeout` for one:
    /// zero or negative checks once, nil waits without limit (Python's `poll(timeout)` and
    /// `poll(None)`). It never consumes anything: true means a message has started to arrive
    /// (or end of file), so ``receive()-68hv2`` will not wait for another sender, only, at most, for the
    /// rest of a large message being written.
    ///
    /// - Throws: ``ConnectionError/wrongDirection(_:)`` on a send-only end; `.closed` after ``close()``,
    ///   also when another thread closes this end while the call waits; `.system` for other failures.
    /// - Cost: one `poll` system call, none when bytes are already buffered; EINTR is retried with
    ///   the time left.
    public func poll(timeout: Duration?) throws(ConnectionError) -> Bool {
        try enter(sending: false)
        defer { leave() }
        if buffered.load(ordering: .relaxed) > 0 { return true }
        let deadline = timeout.map { ContinuousClock.now + max($0, .zero) }
        return try wait(writable: false, deadline: deadline)
    }

    // MARK: Closing

    /// Closes this end in this process. Closing twice is allowed. Calls that other threads have
    /// in progress on this end wake up and throw `.closed`; the descriptor is closed once they have
    /// returned. Copies of this end held by other processes stay open.
    public func close() {
        adoptIfForked()
        let before = lifecycle.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).oldValue
        if before & Self.closedBit != 0 { return }
        if before < Self.oneUser {
            release()
        } else {
            // Wake the calls in progress; the last one to leave releases the descriptor.
            wakeLock.withLock { if wakeFd >= 0 { Sys.signalEvent(wakeFd) } }
        }
    }

    /// True once ``close()`` was called on this end in this process.
    public var isClosed: Bool {
        adoptIfForked()
        return lifecycle.load(ordering: .acquiring) & Self.closedBit != 0
    }

    // MARK: Bookkeeping

    /// Starts a call: checks direction and state, and counts the call so that `close()` defers
    /// closing the descriptor until it ends.
    @inline(__always)
    func enter(sending: Bool) throws(ConnectionError) {
        if sending && kind == .receiveOnly {
            throw .wrongDirection(.send)
        }
        if !sending && kind == .sendOnly {
            throw .wrongDirection(.receive)
        }
        adoptIfForked()
        let after = lifecycle.wrappingAdd(Self.oneUser, ordering: .acquiringAndReleasing).newValue
        if after & Self.closedBit != 0 {
            leave()
            throw .closed
        }
    }

    @inline(__always)
    func leave() {
        let after = lifecycle.wrappingSubtract(Self.oneUser, ordering: .acquiringAndReleasing).newValue
        if after == Self.closedBit { release() }
    }

    /// Closes the descriptor, once: whoever moves the state from "closed, unused" to "released".
    private func release() {
        guard
            lifecycle.compareExchange(
                expected: Self.closedBit, desired: Self.closedBit | Self.releasedBit,
                ordering: .acquiringAndReleasing
            ).exchanged
        else { return }
        Sys.close(fd)
        wakeLock.withLock {
            if wakeFd >= 0 { Sys.close(wakeFd) }
            wakeFd = -1
        }
    }

    @inline(__always)
    private func checkOpen() throws(ConnectionError) {
        if lifecycle.load(ordering: .acquiring) & Self.closedBit != 0 { throw .closed }
    }

    /// Waits for the descriptor, or for `close()` from another thread. False on timeout.
    private func wait(writable: Bool, deadline: ContinuousClock.Instant?) throws(ConnectionError) -> Bool {
        let wake = try wakeDescriptor()
        let readiness: Sys.Readiness
        do throws(SystemError) {
            readiness = try Sys.waitForEvent(fd, writable: writable, wake: wake, deadline: deadline)
        } catch {
            throw .system(error)
        }
        switch readiness {
        case .ready: return true
        case .timedOut: return false
        case .woken: throw .closed
        }
    }

    /// The eventfd that `close()` signals to wake the calls in progress (made on first use). Only for
    /// a caller that has entered, so that it stays open until the caller leaves.
    func wakeDescriptor() throws(ConnectionError) -> Int32 {
        try wakeLock.withLock { () throws(ConnectionError) -> Int32 in
            // Checked under the lock, so a close() that comes after this sees the descriptor.
            try checkOpen()
            if wakeFd < 0 {
                do throws(SystemError) { wakeFd = try Sys.eventDescriptor() } catch { throw .system(error) }
            }
            return wakeFd
        }
    }

    // MARK: For the async forms (ConnectionAsync.swift)

    /// One receive that never waits, by a caller that has entered: the next message if it has
    /// arrived whole (reading what the descriptor has, without waiting); `.busy` when another thread
    /// is receiving on this end.
    func receiveNow() throws(ConnectionError) -> ReceiveAttempt<Message> {
        try takeFrameNow(decode)
    }

    /// `receiveNow` for raw bytes.
    func receiveBytesNow() throws(ConnectionError) -> ReceiveAttempt<[UInt8]> {
        try takeFrameNow { (frame) throws(ConnectionError) -> [UInt8] in Array(frame) }
    }

    private func takeFrameNow<T>(_ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> T)
        throws(ConnectionError) -> ReceiveAttempt<T>
    {
        let taken = try readLock.withLockIfFree { () throws(ConnectionError) -> T? in
            try takeFrame(waiting: false, body)
        }
        guard let taken else { return .busy }
        return taken.map { .received($0) } ?? .notYet
    }

    /// In a forked child, on first use: re-make the locks (a parent thread may have held them at
    /// the fork), forget the parent's calls in progress, and drop the wake descriptor shared with
    /// the parent (the child makes its own when it first waits). Bytes read but not yet received
    /// stay: they belong to whichever process receives them.
    @inline(__always)
    private func adoptIfForked() {
        if generation.load(ordering: .acquiring) == ForkGeneration.current { return }
        ForkGeneration.adoptionLock.withLock {
            if generation.load(ordering: .relaxed) == ForkGeneration.current { return }
            wakeLock.reinitializeInChild()
            readLock.reinitializeInChild()
            writeLock.reinitializeInChild()
            if wakeFd >= 0 {
                Sys.close(wakeFd)
                wakeFd = -1
            }
            let state = lifecycle.load(ordering: .relaxed) & (Self.closedBit | Self.releasedBit)
            lifecycle.store(state, ordering: .relaxed)
            // Closed in the parent while a call was in progress there: that call is not in the child.
            if state == Self.closedBit { release() }
            generation.store(ForkGeneration.current, ordering: .releasing)
        }
    }
}

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
