// What the pool's processes say to each other.
//
// Parent ↔ worker: a stream socket carrying `Connection` frames (a UInt32 length, then that many
// bytes), so that a worker simply uses a `Connection` for its end. Each frame's bytes are
//   UInt8 kind | UInt64 job id | UInt64 aux | payload (encoded with the binary codec)
// which makes a 21-byte header with the length. The parent sends `task` (one input), `chunk` (an
// array of inputs) and `stop`; a worker answers each job with exactly one frame, in the order it
// received them: `result` (one output), `chunkResult` (an array of outputs), `chunkMixed` (one
// outcome per input, when some threw) or `failed`; `aux` is how long the job ran, in nanoseconds.
// A worker whose initializer throws sends `initializerFailed` and exits.
//
// Parent ↔ zygote: see ControlMessage.swift. What an answer means to whoever waits: PoolAnswer.swift.

enum FrameKind: UInt8 {
    case task = 1
    case chunk = 2
    case stop = 3
    case result = 10
    case chunkResult = 11
    case chunkMixed = 12
    case failed = 13
    case initializerFailed = 14
}

/// The head of every pool frame: kind, job id, aux, after the 4-byte length prefix. The one place
/// that knows its offsets (kind 0, id 1, aux 9 from the head's first byte); unaligned, little-endian.
struct PoolFrameHead {
    let kind: UInt8
    let id: UInt64
    let aux: UInt64

    /// The length prefix (a UInt32 counting the head and the payload), written before the head.
    static let lengthPrefix = 4
    /// kind, id, aux: what follows the length prefix before the payload.
    static let size = 17
    /// A frame larger than this is a protocol error (and never allocated): Connection's limit.
    static let maxLength = Int(UInt32.max)
    private static let kindOffset = 0
    private static let idOffset = 1
    private static let auxOffset = 9

    /// Reads the head that starts at `head` (after the length prefix). Cost: three loads.
    init(at head: UnsafeRawPointer) {
        kind = head.loadUnaligned(fromByteOffset: Self.kindOffset, as: UInt8.self)
        id = head.loadUnaligned(fromByteOffset: Self.idOffset, as: UInt64.self)
        aux = head.loadUnaligned(fromByteOffset: Self.auxOffset, as: UInt64.self)
    }

    /// Overwrites the job id of the head at `head` (a job renumbered before it is sent again).
    static func store(id: UInt64, at head: UnsafeMutableRawPointer) {
        (head + idOffset).storeBytes(of: id, as: UInt64.self)
    }

    /// Overwrites the aux field of the head at `head` (the claim position; the time a job ran).
    static func store(aux: UInt64, at head: UnsafeMutableRawPointer) {
        (head + auxOffset).storeBytes(of: aux, as: UInt64.self)
    }

    /// Appends a head to `buffer`, in the order of the offsets above.
    static func append(kind: FrameKind, id: UInt64, aux: UInt64, to buffer: ByteBuffer) {
        buffer.append(raw: kind.rawValue)
        buffer.append(raw: id)
        buffer.append(raw: aux)
    }
}

/// What a worker reports when the work function (or the initializer) throws.
struct RemoteFailure: Codable, Sendable {
    /// The error's type, e.g. `ValueTooLarge`.
    var type: String
    /// `String(describing: error)`.
    var description: String

    init(_ error: any Error) {
        type = String(describing: Swift.type(of: error))
        description = String(describing: error)
    }

    init(type: String, description: String) {
        self.type = type
        self.description = description
    }
}

/// One input's outcome in a chunk where some inputs threw.
enum ItemOutcome<Output> {
    case success(Output)
    case failure(RemoteFailure)
}

extension ItemOutcome: Encodable where Output: Encodable {}
extension ItemOutcome: Decodable where Output: Decodable {}

/// One decoded frame, pointing into the buffer it was read into (valid until the next read).
struct Frame {
    let kind: UInt8
    let id: UInt64
    let aux: UInt64
    let body: UnsafeRawBufferPointer
}

/// A corrupt stream from a worker: a bug or a stray write into the socket, never normal operation.
struct ProtocolViolation: Error, CustomStringConvertible {
    let description: String
}

/// Bytes read from a stream socket and not yet consumed, cut into frames.
final class FrameReader {
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var shrinkLater = false
    private static let keptCapacity = 64 << 10

    init(capacity: Int = keptCapacity) {
        self.capacity = capacity
        storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit {
        storage.deallocate()
    }

    /// The next whole frame, or nil when more bytes are needed. The frame's body stays valid until
    /// the next call to a `read` method.
    func nextFrame() throws(ProtocolViolation) -> Frame? {
        let available = end - start
        let prefixAndHead = PoolFrameHead.lengthPrefix + PoolFrameHead.size
        if available < prefixAndHead { return nil }
        let header = storage + start
        let length = Int(header.loadUnaligned(as: UInt32.self))
        if length < PoolFrameHead.size { throw ProtocolViolation(description: "a frame of \(length) bytes") }
        let total = PoolFrameHead.lengthPrefix + length
        if available < total {
            reserve(total)
            return nil
        }
        let head = PoolFrameHead(at: header + PoolFrameHead.lengthPrefix)
        let frame = Frame(
            kind: head.kind, id: head.id, aux: head.aux,
            body: UnsafeRawBufferPointer(start: header + prefixAndHead, count: total - prefixAndHead))
        start += total
        if start == end {
            start = 0
            end = 0
            shrinkLater = capacity > FrameReader.keptCapacity
        }
        return frame
    }

    /// Moves an incomplete frame of `total` bytes to the front when it would not fit where it is.
    private func reserve(_ total: Int) {
        if start > 0 && capacity - start < total {
            compact()
        }
    }

    private func compact() {
        storage.copyMemory(from: storage + start, byteCount: end - start)
        end -= start
        start = 0
    }

    /// Makes room to read into. The buffer grows only when it is full of bytes that actually arrived
    /// (doubling), never to what a header merely claims: a corrupt length costs no memory.
    private func prepareSpace() {
        if start == end {
            start = 0
            end = 0
            if shrinkLater {
                // A large answer made it grow: give the memory back (the frame handed out is done with).
                shrinkLater = false
                storage.deallocate()
                capacity = FrameReader.keptCapacity
                storage = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            }
        } else if end == capacity {
            if start > 0 {
                compact()
            } else {
                let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
                grown.copyMemory(from: storage, byteCount: end)
                storage.deallocate()
                storage = grown
                capacity *= 2
            }
        }
    }

    /// Non-blocking: reads what the socket has. `.data(filled:)` when bytes arrived; `filled` when
    /// they filled all the space offered (there may be more).
    enum ReadResult {
        case data(filled: Bool)
        case wouldBlock, endOfFile
    }

    func readAvailable(from fd: Int32) throws(SystemError) -> ReadResult {
        prepareSpace()
        let space = capacity - end
        guard let got = try Sys.readAvailable(fd, into: storage + end, count: space) else { return .wouldBlock }
        if got == 0 { return .endOfFile }
        end += got
        return .data(filled: got == space)
    }
}

extension ByteBuffer {
    /// Appends a frame's length prefix (filled in by `finishFrame(startedAt:)`) and head; the
    /// payload follows. Returns where the frame starts.
    func startFrame(_ kind: FrameKind, id: UInt64, aux: UInt64 = 0) -> Int {
        let frameStart = count
        reserve(PoolFrameHead.lengthPrefix + PoolFrameHead.size)
        append(raw: UInt32(0))
        appendHead(kind, id: id, aux: aux)
        return frameStart
    }

    func finishFrame(startedAt frameStart: Int) {
        store(UInt32(truncatingIfNeeded: count - frameStart - PoolFrameHead.lengthPrefix), at: frameStart)
    }

    /// The head alone, for a `Connection`, which writes the length prefix itself.
    func appendHead(_ kind: FrameKind, id: UInt64, aux: UInt64 = 0) {
        PoolFrameHead.append(kind: kind, id: id, aux: aux, to: self)
    }
}
