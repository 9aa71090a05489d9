// Connection: one end of Python's multiprocessing.Pipe, typed over a Codable message.
//
// Folder Connection/: what lives here is the pipe end (this file: sending, receiving, polling),
// its factory (Pipe.swift: makePipe), its lifecycle across threads and forks (EndLifecycle.swift:
// close, calls in progress, the wake descriptor, adoption in a forked child), its errors
// (ConnectionError.swift), its async forms (ConnectionAsync.swift) and its waitForAny conformance
// (ConnectionWaitable.swift). It may depend on Platform (descriptors, polling, fork detection,
// LocalMutex) and on the codec target (EncoderCore, DecoderCore, ByteBuffer, FrameBuffer); the two
// conformances also on Async/.

import Glibc
import Synchronization

/// One end of a pipe made by ``makePipe(duplex:maxMessageSize:)``: sends and receives whole `Message`s (any Codable type) between processes.
///
/// Each message is a frame: a 4-byte little-endian length, then the message in the binary codec
/// (``sendBytes(_:)`` sends raw bytes instead). A message is written with one system call. Reading
/// takes whatever has arrived, up to 64 KiB, in one system call, so a burst of small messages costs one
/// read, not two per message. A large frame (16 KiB or more) that has not arrived whole is read
/// straight into the array (or caller's buffer) it ends up in, and a large `[UInt8]` message is
/// sent from the array's own memory: big messages are copied once on each side, as in C. The bytes read belong to this process: an end must be read by one
/// process at a time (two processes reading one end, even under a ``Lock`` as Python allows, can
/// split messages between them; use a ``Queue`` for several consumers). A forked child that inherits an end
/// also inherits what this process had read but not yet received, so an end can be handed to a child.
///
/// Waiting: a receiver whose spins have recently paid off spins for up to 20 µs before it sleeps,
/// which halves a ping-pong's round trip when both processes have a core; when its spins run out
/// (the peer is not running: a busy machine, or a slow sender) it stops spinning and sleeps at once.
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
    /// Python's `Connection.readable`.
    public var isReadable: Bool { kind != .sendOnly }
    /// True when this end can send (``send(_:)``, ``sendBytes(_:)``). Python's `Connection.writable`.
    public var isWritable: Bool { kind != .receiveOnly }
    /// The largest encoded message this end sends or accepts, in bytes.
    public let maxMessageSize: Int

    let fd: Int32
    let kind: Kind
    /// The fork generation this object was last adopted in (see `ForkGeneration`).
    let generation = Atomic<UInt64>(ForkGeneration.current)

    /// Bit 0: closed. Bit 1: the descriptor was released (closed for real). Bits 2…: calls in
    /// progress. The descriptor is released when it is closed and no call is in progress.
    let lifecycle = Atomic<Int>(0)
    static var closedBit: Int { 1 }
    static var releasedBit: Int { 2 }
    static var oneUser: Int { 4 }

    /// Guards `wakeFd`, made on the first wait; `close()` makes it readable to wake every waiter.
    let wakeLock = LocalMutex()
    @exclusivity(unchecked) var wakeFd: Int32 = -1

    /// Serialize receives and sends, so frames are read and written whole.
    let readLock = LocalMutex()
    let writeLock = LocalMutex()

    // Guarded by `writeLock`: the encoder and the buffer each frame is built in, and whether the
    // pipe was grown for a large message.
    @exclusivity(unchecked) private var pipeGrown = false
    private let encoder = EncoderCore(buffer: ByteBuffer(capacity: 4096), maxDepth: BinaryDecoder.defaultMaxDepth)

    // Guarded by `readLock`: the decoder, the bytes read and not yet received (cut into frames by
    // `frames`, which starts at 16 bytes and grows to 64 KiB on the first receive), a fatal framing
    // error, and the spin-before-sleep state (see `readWaiting`).
    private let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
    private let frames = FrameBuffer(chunk: Connection.readChunk, initialCapacity: 16)
    @exclusivity(unchecked) private var framingError: ConnectionError?
    @exclusivity(unchecked) private var spinCredit = 1
    @exclusivity(unchecked) private var waitsWithoutSpin = 0
    @exclusivity(unchecked) private var lastReadWaited = false
    /// Whether the last frame was read straight into its destination (see `largeFrameAhead`).
    @exclusivity(unchecked) private var lastFrameDirect = false
    /// `frames.buffered`, for `poll` to read without taking `readLock`.
    private let buffered = Atomic<Int>(0)

    /// The read buffer's usual size; it grows for a larger message and shrinks back after it.
    private static var readChunk: Int { 64 << 10 }
    /// Write buffers grown past this for a large message are given back after it.
    private static var keptBufferSize: Int { 1 << 20 }
    private static var spinLimit: Duration { .microseconds(20) }
    /// A frame larger than this through a one-way pipe grows the pipe from 64 KiB to
    /// `grownPipeSize`, once: a 1 MiB message then crosses in one or two bufferfuls, not 16 (about
    /// 15× fewer context switches). The kernel counts the buffer against the user's pipe quota
    /// (64 MiB by default) and refuses growth past it; a socket pair's buffer is left as it is.
    private static var pipeGrowthThreshold: Int { 256 << 10 }
    private static var grownPipeSize: Int { 1 << 20 }
    /// Without spin credit, one spin is tried again after this many waits.
    private static var probeInterval: Int { 32 }
    /// A `[UInt8]` message (sent or received) or raw-bytes frame (received) at least this large
    /// skips the encoder's buffer and the read buffer: its memory is written and read directly.
    private static var directThreshold: Int { 16 << 10 }

    /// What a trace calls this connection: the same for both ends of a pipe (its first descriptor).
    let traceID: UInt64

    init(fd: Int32, kind: Kind, maxMessageSize: Int, traceID: Int32? = nil) {
        _ = ForkGeneration.installed
        self.traceID = UInt64(UInt32(bitPattern: traceID ?? fd))
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
    /// Python's `Connection.send(obj)`.
    ///
    /// - Throws: ``ConnectionError/wrongDirection(_:)`` on a receive-only end; `.closed` after ``close()``;
    ///   `.unencodable` when the message cannot be encoded (nothing is sent); `.messageTooLarge`
    ///   over ``maxMessageSize`` (nothing is sent); `.peerClosed` when every copy of the other end is
    ///   closed; `.system` for other failures.
    /// - Cost: encoding into a reused buffer, then one write system call for a message that fits
    ///   the pipe (more for one larger than the pipe's buffer, as the reader drains it). A `[UInt8]`
    ///   of 16 KiB or more is not encoded: its memory goes out behind the header in gathering writes,
    ///   with no copy in this process. The first message over 256 KiB through a one-way pipe grows
    ///   the pipe's buffer to 1 MiB, so that such a message takes one or two writes, not 16.
    public func send(_ message: Message) throws(ConnectionError) {
        if Message.self == [UInt8].self {
            let bytes = unsafeBitCast(message, to: [UInt8].self)
            if bytes.count >= Self.directThreshold { return try sendPacked(bytes) }
        }
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
            Trace.record(.pipe, .sent, traceID, Int32(truncatingIfNeeded: length))
        }
    }

    /// A large `[UInt8]` message: the frame's length and the codec's header for the array, then the
    /// array's own memory, in one gathering write; the array is never copied into the encoder. The
    /// bytes on the wire are the ones `send` writes through the encoder.
    private func sendPacked(_ bytes: [UInt8]) throws(ConnectionError) {
        try enter(sending: true)
        defer { leave() }
        var header = (UInt64(0), UInt64(0))  // the 4-byte length, then at most 12 bytes of codec header
        try withUnsafeMutableBytes(of: &header) { (header) throws(ConnectionError) in
            let codecHeader = PackedBytes.writeHeader(count: bytes.count, to: header.baseAddress! + 4)
            let length = codecHeader + bytes.count
            guard length <= maxMessageSize else { throw .messageTooLarge(size: length, maximum: maxMessageSize) }
            header.storeBytes(of: UInt32(length).littleEndian, as: UInt32.self)
            try Self.withBytes(of: bytes) { (payload) throws(ConnectionError) in
                try writeLock.withLock { () throws(ConnectionError) in
                    try checkOpen()
                    try writeFrame(
                        header: UnsafeRawBufferPointer(rebasing: header[0..<4 + codecHeader]), payload: payload)
                }
            }
            Trace.record(.pipe, .sent, traceID, Int32(truncatingIfNeeded: length))
        }
    }

    /// Sends raw bytes as one message, without the codec (Python's `send_bytes(buf)`). An empty
    /// collection is a message too. The other end reads it with ``receiveBytes()-73kgr`` or
    /// ``receiveBytes(into:)-1yxok``.
    ///
    /// Any collection of bytes will do: an array, a slice of one (`sendBytes(buffer[16..<80])`, the
    /// Swift spelling of Python's `send_bytes(buffer, 16, 64)`), an `UnsafeRawBufferPointer`, a
    /// string's `utf8` view, Foundation's `Data`.
    ///
    /// - Throws: as ``send(_:)``, except `.unencodable`.
    /// - Cost: one gathering write of the length and the bytes; no copy when the collection's bytes
    ///   are contiguous in memory (all of the above), one copy into an array otherwise.
    public func sendBytes(_ bytes: some Collection<UInt8>) throws(ConnectionError) {
        try Self.withBytes(of: bytes) { (payload) throws(ConnectionError) in try sendFrame(payload) }
        Trace.record(.pipe, .sent, traceID, Int32(truncatingIfNeeded: bytes.count))
    }

    /// Sends `count` bytes of `bytes` from `offset` (counted from the collection's start) as one
    /// message: Python's `send_bytes(buf, offset, size)`. A nil `count` sends the rest, from
    /// `offset` to the end; a `count` of 0 sends an empty message.
    ///
    /// Slicing, `sendBytes(bytes[from..<to])`, says the same and is the Swift way when the range is
    /// known to be valid (a bad range traps, like any subscript); this form checks the range and
    /// throws instead, for offsets and sizes that come from data.
    ///
    /// - Throws: ``ConnectionError/outOfBounds(offset:count:bufferSize:)`` when `offset` or `count`
    ///   is negative or `offset + count` passes the end (nothing is sent); otherwise as ``send(_:)``,
    ///   except `.unencodable`.
    /// - Cost: as ``sendBytes(_:)``: no copy of contiguous bytes, only the range is written.
    public func sendBytes(_ bytes: some Collection<UInt8>, offset: Int, count: Int? = nil) throws(ConnectionError) {
        let size = bytes.count
        let count = count ?? max(size - offset, 0)
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else {
            throw .outOfBounds(offset: offset, count: count, bufferSize: size)
        }
        try Self.withBytes(of: bytes) { (payload) throws(ConnectionError) in
            try sendFrame(UnsafeRawBufferPointer(rebasing: payload[offset..<offset + count]))
        }
        Trace.record(.pipe, .sent, traceID, Int32(truncatingIfNeeded: count))
    }

    /// Lends `bytes` to `body` as raw memory: in place when they are contiguous, else copied into
    /// an array first.
    private static func withBytes(
        of bytes: some Collection<UInt8>, _ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> Void
    ) throws(ConnectionError) {
        // The closures of withContiguousStorageIfAvailable/withUnsafeBytes rethrow untyped: carry ours out in a Result.
        let outcome =
            bytes.withContiguousStorageIfAvailable { (stored) in
                Result { () throws(ConnectionError) in try body(UnsafeRawBufferPointer(stored)) }
            }
            ?? Array(bytes).withUnsafeBytes { (copy) in
                Result { () throws(ConnectionError) in try body(copy) }
            }
        try outcome.get()
    }

    /// Sends raw memory as one message, without the codec and without copying it: what
    /// ``sendBytes(_:)`` does for an array (the pool's workers send their answers this way).
    /// - Throws: as ``sendBytes(_:)``.
    /// - Cost: one gathering write of the length and the bytes; no copy.
    func sendFrame(_ bytes: UnsafeRawBufferPointer) throws(ConnectionError) {
        try enter(sending: true)
        defer { leave() }
        guard bytes.count <= maxMessageSize else { throw .messageTooLarge(size: bytes.count, maximum: maxMessageSize) }
        try writeLock.withLock { () throws(ConnectionError) in
            try checkOpen()
            var header = UInt32(bytes.count).littleEndian
            try withUnsafeBytes(of: &header) { (header) throws(ConnectionError) in
                try writeFrame(header: header, payload: bytes)
            }
        }
    }

    /// Writes a whole frame, `header` then `payload`, waiting while the pipe is full.
    private func writeFrame(header: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer?) throws(ConnectionError) {
        let total = header.count + (payload?.count ?? 0)
        if total > Self.pipeGrowthThreshold && kind == .sendOnly && !pipeGrown {
            pipeGrown = true
            Sys.growPipe(fd, to: Self.grownPipeSize)
        }
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

    /// Receives the next message, blocking until one has arrived whole. Python's `Connection.recv()`.
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
    ///   message along); a message larger than the pipe's buffer takes one read per bufferful. A
    ///   `[UInt8]` of 16 KiB or more is read straight into the new array (not zeroed first): one
    ///   copy, from the kernel, of all but what the first read brought.
    public func receive() throws(ConnectionError) -> Message {
        try traceReceive { () throws(ConnectionError) in
            if Message.self == [UInt8].self { return unsafeBitCast(try receiveArray(packed: true), to: Message.self) }
            return try withNextFrame(decode)
        }
    }

    /// Runs a public receive; a trace sees its wait (when nothing had arrived) and its end.
    @inline(__always)
    private func traceReceive<T>(_ body: () throws(ConnectionError) -> T) throws(ConnectionError) -> T {
        guard Trace.isOn else { return try body() }
        let waits = (try? poll()) == false
        if waits { Trace.record(.pipe, .waiting, traceID) }
        do {
            let result = try body()
            Trace.record(.pipe, .received, traceID)
            return result
        } catch {
            if waits { Trace.record(.pipe, .timedOut, traceID) }
            throw error
        }
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
    /// - Cost: one copy into a new array; a message of 16 KiB or more that has not arrived whole is
    ///   read straight into it.
    public func receiveBytes() throws(ConnectionError) -> [UInt8] {
        try traceReceive { () throws(ConnectionError) in try receiveArray(packed: false) }
    }

    /// The next frame as a new array: its raw bytes, or, when `packed`, the `[UInt8]` the codec
    /// encoded in it. A large frame that has not arrived whole is read straight into the array.
    private func receiveArray(packed: Bool) throws(ConnectionError) -> [UInt8] {
        try enter(sending: false)
        defer { leave() }
        return try readLock.withLock { () throws(ConnectionError) -> [UInt8] in
            if let ahead = try largeFrameAhead(packed: packed) {
                return try Self.uninitializedArray(count: ahead.count) { (bytes) throws(ConnectionError) in
                    try readBody(of: ahead, into: bytes)
                }
            }
            return try takeFrame(waiting: true) { (frame) throws(ConnectionError) -> [UInt8] in
                packed ? unsafeBitCast(try decode(frame), to: [UInt8].self) : Array(frame)
            }!
        }
    }

    /// An array of `count` bytes (at least one) that `fill` writes; its memory is not zeroed first.
    private static func uninitializedArray(
        count: Int, _ fill: (UnsafeMutableRawPointer) throws(ConnectionError) -> Void
    ) throws(ConnectionError) -> [UInt8] {
        var failure: ConnectionError?
        let array = [UInt8](unsafeUninitializedCapacity: count) { (buffer, initialized) in
            do throws(ConnectionError) {
                try fill(UnsafeMutableRawPointer(buffer.baseAddress!))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return array
    }

    /// With `readLock` held, waiting for the front frame's first bytes: for a frame of at least
    /// `directThreshold` bytes that has not arrived whole, where its body starts (after the
    /// codec's header of a `[UInt8]` when `packed`) and how many bytes it has. Nil when the
    /// ordinary path should take the frame: small, whole, over the maximum, not a `[UInt8]`, after
    /// a framing error, or at end of file (reading again tells which). After a frame read this way,
    /// the next read takes only the next frame's head (one more read call, but a large body is then
    /// not copied through the read buffer).
    private func largeFrameAhead(packed: Bool) throws(ConnectionError) -> (skip: Int, count: Int)? {
        try checkOpen()
        if framingError != nil { return nil }
        let prefix = 4 + (packed ? PackedBytes.maxHeaderSize : 0)
        while true {
            let available = frames.buffered
            if available >= 4 {
                let length = frames.frontFrameSize - 4
                if length > maxMessageSize || length < Self.directThreshold || available >= 4 + length {
                    lastFrameDirect = false
                    return nil
                }
                if !packed { return (0, length) }
                if available >= prefix {
                    let header = PackedBytes.parseHeader(
                        UnsafeRawBufferPointer(rebasing: frames.unread[4...]), length: length)
                    guard let header else {
                        lastFrameDirect = false
                        return nil
                    }
                    return (header.headerSize, header.count)
                }
            }
            var space = frames.space(forFrameOf: prefix)
            if lastFrameDirect {
                // Large messages are coming: read only the next head, so the body goes straight to its destination.
                space = UnsafeMutableRawBufferPointer(rebasing: space[..<min(space.count, prefix - available)])
            }
            guard let count = try fill(space, waiting: true), count > 0 else {
                lastFrameDirect = false
                return nil
            }
        }
    }

    /// With `readLock` held: consumes the frame `largeFrameAhead` found and copies its body to
    /// `destination`: the part already buffered, then the rest read straight from the descriptor.
    /// A failure part-way leaves the stream unusable: every later receive throws it again.
    private func readBody(of ahead: (skip: Int, count: Int), into destination: UnsafeMutableRawPointer)
        throws(ConnectionError)
    {
        let head = 4 + ahead.skip
        lastFrameDirect = true
        let front = frames.consume(frames.buffered)  // less than the whole frame, at least its head
        var received = front.count - head
        if received > 0 { destination.copyMemory(from: front.baseAddress! + head, byteCount: received) }
        frames.releaseGrowth()
        buffered.store(0, ordering: .relaxed)
        do throws(ConnectionError) {
            while received < ahead.count {
                let space = UnsafeMutableRawBufferPointer(start: destination + received, count: ahead.count - received)
                let count = try readWaiting(into: space, waiting: true)!
                if count == 0 { throw .truncated(expected: head + ahead.count, received: head + received) }
                received += count
            }
        } catch {
            framingError = error
            throw error
        }
    }

    /// Receives the next message as raw bytes into memory the caller owns, and returns its size:
    /// Python's `recv_bytes_into(buffer)`. The message is copied to the start of `buffer`; bytes
    /// past its size are left as they were.
    ///
    /// A message larger than `buffer` is not received: the call throws
    /// ``ConnectionError/bufferTooShort(size:capacity:)`` as soon as the message's length has
    /// arrived, and the message stays next, whole, for the next receive of any kind (receive into
    /// a larger buffer, ``receiveBytes()-73kgr`` or ``receive()-68hv2``). Python's `BufferTooShort`
    /// instead consumes the message and hands its bytes over in the exception.
    ///
    /// - Throws: `.bufferTooShort` as above; otherwise as ``receiveBytes()-73kgr``.
    /// - Cost: as ``receiveBytes()-73kgr``, with one copy into `buffer` and no allocation; a message
    ///   of 16 KiB or more that has not arrived whole is read straight into `buffer`.
    public func receiveBytes(into buffer: UnsafeMutableRawBufferPointer) throws(ConnectionError) -> Int {
        try traceReceive { () throws(ConnectionError) in try receiveBytesUntraced(into: buffer) }
    }

    private func receiveBytesUntraced(into buffer: UnsafeMutableRawBufferPointer) throws(ConnectionError) -> Int {
        try enter(sending: false)
        defer { leave() }
        return try readLock.withLock { () throws(ConnectionError) -> Int in
            if let ahead = try largeFrameAhead(packed: false) {
                guard ahead.count <= buffer.count else {
                    throw .bufferTooShort(size: ahead.count, capacity: buffer.count)
                }
                try readBody(of: ahead, into: buffer.baseAddress!)
                return ahead.count
            }
            return try takeFrame(waiting: true, fitting: buffer.count) { (frame) throws(ConnectionError) -> Int in
                Self.copy(frame, into: buffer)
            }!
        }
    }

    /// Receives the next message as raw bytes into `buffer` from `offset` on, and returns its
    /// size: Python's `recv_bytes_into(buffer, offset)`. The array is never resized: the message
    /// must fit in `buffer.count - offset` bytes, and the bytes around it are left as they were.
    ///
    /// - Throws: ``ConnectionError/outOfBounds(offset:count:bufferSize:)`` when `offset` is negative
    ///   or past the end (nothing is received); ``ConnectionError/bufferTooShort(size:capacity:)``
    ///   when the message does not fit (nothing is received: it stays next, whole); otherwise as
    ///   ``receiveBytes()-73kgr``.
    /// - Cost: as ``receiveBytes(into:)-1yxok``; none more, unless the array shares its storage with
    ///   another copy, which it then stops sharing (copy on write). It blocks the calling thread, also
    ///   in async code: there, await ``receiveBytes(into:)-5ydt2`` with memory that outlives the call,
    ///   or ``receiveBytes()-q76f`` (an array's storage cannot stay lent across a suspension).
    public func receiveBytes(into buffer: inout [UInt8], offset: Int = 0) throws(ConnectionError) -> Int {
        guard offset >= 0, offset <= buffer.count else {
            throw .outOfBounds(offset: offset, count: 0, bufferSize: buffer.count)
        }
        // withUnsafeMutableBytes rethrows untyped: carry the typed error out in a Result.
        return try buffer.withUnsafeMutableBytes { (whole) in
            Result { () throws(ConnectionError) -> Int in
                try receiveBytes(into: UnsafeMutableRawBufferPointer(rebasing: whole[offset...]))
            }
        }.get()
    }

    /// Copies a frame to the start of `buffer`, which `takeFrame(fitting:)` checked is large enough.
    static func copy(_ frame: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if frame.count > 0 { buffer.copyMemory(from: frame) }
        return frame.count
    }

    /// Receives the next frame and hands its bytes to `body` without copying them: what
    /// ``receiveBytes()-73kgr`` does, minus the array (the pool's workers read their jobs this way).
    /// The bytes are valid only during `body`, which runs with this end's read lock held.
    /// - Throws: as ``receiveBytes()-73kgr``, and what `body` throws.
    /// - Cost: as ``receiveBytes()-73kgr``, without the copy into an array.
    func withNextFrame<T>(_ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> T) throws(ConnectionError)
        -> T
    {
        try enter(sending: false)
        defer { leave() }
        return try readLock.withLock { () throws(ConnectionError) -> T in
            try takeFrame(waiting: true, body)!
        }
    }

    /// With `readLock` held: the next frame, handed to `body`. Without `waiting`, nil when no whole
    /// frame has arrived (what has arrived stays buffered for the next call). A frame longer than
    /// `capacity` is left in place, and `.bufferTooShort` thrown, as soon as its length is known.
    private func takeFrame<T>(
        waiting: Bool, fitting capacity: Int = .max, _ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> T
    ) throws(ConnectionError) -> T? {
        try checkOpen()
        if let framingError { throw framingError }
        while true {
            // Before `next`, which would consume the frame. Longer than the maximum: `next` says so.
            if capacity < maxMessageSize && frames.buffered >= 4 {
                let size = frames.frontFrameSize - 4
                if size > capacity && size <= maxMessageSize { throw .bufferTooShort(size: size, capacity: capacity) }
            }
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
        guard let count = try readWaiting(into: space, waiting: waiting) else { return nil }
        frames.didRead(count)
        buffered.store(frames.buffered, ordering: .relaxed)
        return count
    }

    /// Reads what has arrived into `space` (at most its size), waiting as `fill` describes: the
    /// number of bytes read, 0 at end of file, nil when nothing has arrived and `waiting` is false.
    ///
    /// Spinning pays only while the peer runs on another core; on a busy machine it takes the core
    /// the peer is waiting for. So a spin that finds a message earns one credit and one that runs
    /// out costs two: spinning goes on only while two spins in three succeed. Without credit, a
    /// receiver whose last read had to wait waits first (one poll and one read per message, as
    /// Python's blocking reads take two calls), and tries one spin again every `probeInterval` waits.
    private func readWaiting(into space: UnsafeMutableRawBufferPointer, waiting: Bool) throws(ConnectionError) -> Int? {
        var spinStart: ContinuousClock.Instant?
        var waited = false
        if waiting && spinCredit == 0 && lastReadWaited {
            waitsWithoutSpin += 1
            if waitsWithoutSpin >= Self.probeInterval {
                waitsWithoutSpin = 0
                spinCredit = 1
            } else {
                _ = try wait(writable: false, deadline: nil)
                waited = true
            }
        }
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
                lastReadWaited = waited
                return count
            case .wouldBlock:
                if !waiting { return nil }
                waited = true
                if spinCredit > 0 {
                    let now = ContinuousClock.now
                    if spinStart == nil { spinStart = now }
                    if now - spinStart! < Self.spinLimit { continue }
                    spinCredit = max(spinCredit - 2, 0)
                }
                _ = try wait(writable: false, deadline: nil)
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
        return try wait(writable: false, deadline: Deadline(timeout: timeout).instant)
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

    /// `receiveNow` for raw bytes copied into `buffer`, which must hold the message.
    func receiveBytesNow(into buffer: UnsafeMutableRawBufferPointer) throws(ConnectionError) -> ReceiveAttempt<Int> {
        try takeFrameNow(fitting: buffer.count) { (frame) throws(ConnectionError) -> Int in
            Self.copy(frame, into: buffer)
        }
    }

    private func takeFrameNow<T>(
        fitting capacity: Int = .max, _ body: (UnsafeRawBufferPointer) throws(ConnectionError) -> T
    ) throws(ConnectionError) -> ReceiveAttempt<T> {
        let taken = try readLock.withLockIfFree { () throws(ConnectionError) -> T? in
            try takeFrame(waiting: false, fitting: capacity, body)
        }
        guard let taken else { return .busy }
        return taken.map { .received($0) } ?? .notYet
    }
}
