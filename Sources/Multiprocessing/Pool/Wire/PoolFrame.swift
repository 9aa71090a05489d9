// What the pool's processes say to each other.
//
// Parent ↔ worker: a stream socket carrying `Connection`'s framing (a UInt32 length, then that many
// bytes); both ends write whole frames with gathering writes. Each frame's bytes are
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

/// What a worker reports when the work function (or the initializer) throws: which process threw
/// it, and what the error says of itself (a thrown Swift error carries no record of where it was
/// thrown, so there is no traceback to send; see ``PoolError/taskFailed(worker:pid:type:description:)``).
struct RemoteFailure: Codable, Sendable {
    /// The worker's pid (`getpid()` where it was thrown).
    var pid: Int32
    /// The error's type, e.g. `ValueTooLarge`.
    var type: String
    /// `String(describing: error)`.
    var description: String

    init(_ error: any Error, pid: Int32) {
        self.pid = pid
        type = String(describing: Swift.type(of: error))
        description = String(describing: error)
    }

    init(pid: Int32, type: String, description: String) {
        self.pid = pid
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

extension FrameBuffer {
    /// The next whole frame of a worker's stream, or nil when more bytes are needed. The frame's
    /// body stays valid until the next `read`. No maximum: an answer may be as large as it is (the
    /// buffer grows only with bytes that arrived, so a corrupt length costs no memory).
    func nextFrame() throws(ProtocolViolation) -> Frame? {
        guard case .frame(let raw) = next(maxLength: Int(UInt32.max)) else { return nil }
        if raw.count < PoolFrameHead.size { throw ProtocolViolation(description: "a frame of \(raw.count) bytes") }
        let head = PoolFrameHead(at: raw.baseAddress!)
        return Frame(
            kind: head.kind, id: head.id, aux: head.aux,
            body: UnsafeRawBufferPointer(rebasing: raw[PoolFrameHead.size...]))
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

    /// Fills in the length prefix; `attachedBytes`: payload bytes sent from elsewhere (attachments).
    func finishFrame(startedAt frameStart: Int, attachedBytes: Int = 0) {
        store(
            UInt32(truncatingIfNeeded: count + attachedBytes - frameStart - PoolFrameHead.lengthPrefix),
            at: frameStart)
    }

    /// The head alone, for a worker's answer (its sender writes the length prefix itself).
    func appendHead(_ kind: FrameKind, id: UInt64, aux: UInt64 = 0) {
        PoolFrameHead.append(kind: kind, id: id, aux: aux, to: self)
    }
}
