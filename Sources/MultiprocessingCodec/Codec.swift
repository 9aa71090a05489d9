// The binary codec: every Codable value to compact bytes and back, without Foundation.
// The format is described in CodecFormat.swift.
//
// Target MultiprocessingCodec: what lives here is the codec (BinaryEncoder, BinaryDecoder,
// CodecError, public; EncoderCore, DecoderCore, package) and the byte mechanisms the runtime shares
// with it: ByteBuffer (the one growable byte buffer), FrameBuffer (the one reader of a
// length-prefixed stream) and Spare (the one spare-object cache). It may depend on the standard
// library, Glibc and Synchronization only, never on the runtime, so `make fuzz` compiles it alone.
// Multiprocessing re-exports it (Sources/Multiprocessing/Exports.swift).

/// Encodes any `Encodable` value into the compact binary format that ``Connection`` sends.
///
/// Integers and floats are written in fixed width, strings as UTF-8, arrays of numbers (`[UInt8]`,
/// `[Int]`, `[Double]`, …) as one block of memory, structs and classes with their keys.
/// Cost: one pass over the value, one allocation for the result (the encoder writes into a
/// growable buffer), plus one per struct for Swift's container box. About 10–20 bytes of overhead
/// for a small struct.
public struct BinaryEncoder: Sendable {
    /// Values nested deeper than this (recursive types) are an error rather than a stack overflow.
    public var maxDepth: Int

    /// An encoder; cheap to make (the buffers it writes into are shared and reused).
    /// - Parameter maxDepth: the deepest nesting allowed; see ``BinaryDecoder/defaultMaxDepth``.
    public init(maxDepth: Int = BinaryDecoder.defaultMaxDepth) {
        self.maxDepth = maxDepth
    }

    /// The bytes for `value`.
    /// - Throws: ``CodecError/unencodable(type:path:reason:)`` when the value's `encode(to:)` throws,
    ///   uses containers out of order, nests deeper than ``maxDepth``, or a container exceeds 4 GiB.
    public func encode<T: Encodable>(_ value: T) throws(CodecError) -> [UInt8] {
        let core = spareEncoder.take() ?? EncoderCore(maxDepth: maxDepth)
        defer { spareEncoder.give(core) }
        core.maxDepth = maxDepth
        core.buffer.reset(keepingAtMost: 64 << 10)
        try core.encode(value)
        return Array(core.buffer.bytes)
    }
}

/// Decodes bytes made by ``BinaryEncoder`` back into a `Decodable` type.
///
/// It never trusts its input: truncated bytes, the wrong type, absurd lengths, invalid UTF-8 and
/// trailing bytes all throw a ``CodecError`` naming the type, the byte offset and the coding path.
/// It never crashes on malformed input, and never allocates more than the input's bytes can fill.
/// Decoding only builds Codable values: unlike unpickling, it cannot run arbitrary code.
public struct BinaryDecoder: Sendable {
    /// The default nesting limit, for encoder and decoder alike.
    public static let defaultMaxDepth = 128

    /// Values nested deeper than this are an error; it bounds the stack a hostile input can use.
    public var maxDepth: Int

    /// A decoder; cheap to make (the stacks it decodes with are shared and reused).
    /// - Parameter maxDepth: the deepest nesting allowed; ``defaultMaxDepth`` unless you need more.
    public init(maxDepth: Int = BinaryDecoder.defaultMaxDepth) {
        self.maxDepth = maxDepth
    }

    /// Decodes a whole value of type `T` from `bytes`; every byte must belong to it.
    /// - Throws: ``CodecError``, naming what failed and where.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(CodecError) -> T {
        let core = spareDecoder.take() ?? DecoderCore(maxDepth: maxDepth)
        defer { spareDecoder.give(core) }
        core.maxDepth = maxDepth
        do {
            return try bytes.withUnsafeBytes { raw in try core.decode(T.self, from: raw) }
        } catch {
            throw error as! CodecError  // withUnsafeBytes rethrows untyped: only a CodecError can come out
        }
    }

    /// Decodes a whole value of type `T` from raw memory, which must stay valid during the call.
    /// - Throws: ``CodecError``, naming what failed and where.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws(CodecError) -> T {
        let core = spareDecoder.take() ?? DecoderCore(maxDepth: maxDepth)
        defer { spareDecoder.give(core) }
        core.maxDepth = maxDepth
        return try core.decode(T.self, from: bytes)
    }
}

/// Encoding and decoding reuse a spare core (its buffers and stacks) instead of allocating one per
/// call: one spare of each kind for the whole process, taken and given back with atomic exchanges,
/// so it is safe from any thread; a thread that finds none allocates its own.
private let spareEncoder = Spare<EncoderCore>()
private let spareDecoder = Spare<DecoderCore>()
