// The unkeyed and single-value decoding containers, and the types decoded without their
// init(from:) (see CodecDecodeDirect in DecoderCore.swift).

struct UnkeyedDecoder: UnkeyedDecodingContainer {
    let core: DecoderCore
    let generation: UInt32
    let start: Int
    let end: Int
    private var cursor: Int
    private(set) var currentIndex = 0
    /// For a packed array: its element tag and count; 0 for an ordinary unkeyed container.
    let packedTag: UInt8
    let packedCount: Int

    init(core: DecoderCore, start: Int, end: Int, packedTag: UInt8, packedCount: Int) {
        self.core = core
        self.generation = core.generation
        self.start = start
        self.end = end
        self.cursor = start
        self.packedTag = packedTag
        self.packedCount = packedCount
    }

    var codingPath: [any CodingKey] { core.codingPath }

    var count: Int? {
        packedTag != 0 ? packedCount : core.countValues(from: start, to: end)
    }

    var isAtEnd: Bool { cursor >= end }

    /// The next value's extent; fails at the end, or when the container outlived its decode.
    private func next() throws(CodecError) -> (value: Int, end: Int) {
        guard generation == core.generation else {
            throw .invalidData(
                type: "unkeyed container", offset: cursor, path: core.pathText(nil),
                reason: "a container was used after its decode ended")
        }
        guard cursor < end else {
            throw .typeMismatch(
                type: "element \(currentIndex)", offset: cursor, path: core.pathText(CodecKey(index: currentIndex)),
                found: "the end of the unkeyed container")
        }
        if packedTag != 0 {
            throw .typeMismatch(
                type: "element \(currentIndex)", offset: cursor, path: core.pathText(CodecKey(index: currentIndex)),
                found: "a packed array of " + Tag.name(packedTag))
        }
        return (
            cursor,
            try core.keyed(CodecKey(index: currentIndex)) { () throws(CodecError) in
                try core.skipValue(at: cursor, limit: end, type: Any.self)
            }
        )
    }

    private mutating func advance(to offset: Int) {
        cursor = offset
        currentIndex += 1
    }

    @inline(__always)
    private mutating func scalar<T: CodecScalar>(_ type: T.Type) throws(CodecError) -> T {
        if packedTag != 0, generation == core.generation, cursor < end {
            // An element of a packed array, read by a type that decodes its elements one by one.
            guard packedTag == T.codecTag else {
                throw .typeMismatch(
                    type: String(describing: T.self), offset: cursor,
                    path: core.pathText(CodecKey(index: currentIndex)), found: Tag.name(packedTag))
            }
            let value = core.base.loadUnaligned(fromByteOffset: cursor, as: T.self)
            advance(to: cursor + MemoryLayout<T>.size)
            return value
        }
        let field = try next()
        let value = try core.readScalar(T.self, at: field.value, end: field.end)
        advance(to: field.end)
        return value
    }

    mutating func decodeNil() throws -> Bool {
        if packedTag != 0 { return false }
        let field = try next()
        guard core.byte(at: field.value) == Tag.null else { return false }
        advance(to: field.end)
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool {
        let field = try next()
        let value = try core.keyed(CodecKey(index: currentIndex)) { () throws(CodecError) in
            try core.readBool(at: field.value, end: field.end)
        }
        advance(to: field.end)
        return value
    }

    mutating func decode(_ type: String.Type) throws -> String {
        let field = try next()
        let value = try core.keyed(CodecKey(index: currentIndex)) { () throws(CodecError) in
            try core.readString(at: field.value, end: field.end)
        }
        advance(to: field.end)
        return value
    }

    mutating func decode(_ type: Double.Type) throws -> Double { try scalar(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try scalar(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try scalar(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try scalar(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try scalar(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try scalar(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try scalar(type) }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try scalar(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try scalar(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try scalar(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try scalar(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try scalar(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try scalar(type) }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try scalar(type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        if packedTag != 0, let scalarType = T.self as? any CodecScalar.Type {
            func read<S: CodecScalar>(_: S.Type) throws(CodecError) -> T {
                unsafeBitCast(try scalar(S.self), to: T.self)
            }
            return try read(scalarType)
        }
        let field = try next()
        let value = try core.decodeValue(T.self, at: field.value, end: field.end, key: CodecKey(index: currentIndex))
        advance(to: field.end)
        return value
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<
        NestedKey
    > {
        let field = try next()
        let container = try core.keyed(CodecKey(index: currentIndex)) { () throws(CodecError) in
            try core.keyedContainer(at: field.value, end: field.end, keyedBy: NestedKey.self)
        }
        advance(to: field.end)
        return container
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let field = try next()
        let container = try core.keyed(CodecKey(index: currentIndex)) { () throws(CodecError) in
            try core.openUnkeyed(at: field.value, end: field.end)
        }
        advance(to: field.end)
        return container
    }

    mutating func superDecoder() throws -> any Decoder {
        let field = try next()
        let decoder = core.superDecoder(at: field.value, end: field.end, key: CodecKey(index: currentIndex))
        advance(to: field.end)
        return decoder
    }
}

struct SingleValueDecoder: SingleValueDecodingContainer {
    let core: DecoderCore
    let position: Int
    let end: Int

    var codingPath: [any CodingKey] { core.codingPath }

    func decodeNil() -> Bool { core.byte(at: position) == Tag.null }
    func decode(_ type: Bool.Type) throws -> Bool { try core.readBool(at: position, end: end) }
    func decode(_ type: String.Type) throws -> String { try core.readString(at: position, end: end) }
    func decode(_ type: Double.Type) throws -> Double { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Float.Type) throws -> Float { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Int.Type) throws -> Int { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Int8.Type) throws -> Int8 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Int16.Type) throws -> Int16 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Int32.Type) throws -> Int32 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Int64.Type) throws -> Int64 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: Int128.Type) throws -> Int128 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: UInt.Type) throws -> UInt { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try core.readScalar(type, at: position, end: end) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try core.readScalar(type, at: position, end: end) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try core.decodeValue(T.self, at: position, end: end, key: nil)
    }
}

// MARK: Direct decodings

extension Bool: CodecDecodeDirect {
    static func decodeDirect(from core: DecoderCore, at offset: Int, end: Int, key: (any CodingKey)?) throws(CodecError)
        -> Bool
    {
        try core.keyed(key) { () throws(CodecError) in try core.readBool(at: offset, end: end) }
    }
}

extension CodecScalar {
    static func decodeDirect(from core: DecoderCore, at offset: Int, end: Int, key: (any CodingKey)?) throws(CodecError)
        -> Self
    {
        try core.keyed(key) { () throws(CodecError) in try core.readScalar(Self.self, at: offset, end: end) }
    }
}

extension Int8: CodecDecodeDirect {}
extension Int16: CodecDecodeDirect {}
extension Int32: CodecDecodeDirect {}
extension Int64: CodecDecodeDirect {}
extension Int: CodecDecodeDirect {}
extension Int128: CodecDecodeDirect {}
extension UInt8: CodecDecodeDirect {}
extension UInt16: CodecDecodeDirect {}
extension UInt32: CodecDecodeDirect {}
extension UInt64: CodecDecodeDirect {}
extension UInt: CodecDecodeDirect {}
extension UInt128: CodecDecodeDirect {}
extension Float: CodecDecodeDirect {}
extension Double: CodecDecodeDirect {}

extension Optional: CodecDecodeDirect where Wrapped: Decodable {
    static func decodeDirect(from core: DecoderCore, at offset: Int, end: Int, key: (any CodingKey)?) throws(CodecError)
        -> Self
    {
        switch core.byte(at: offset) {
        case Tag.null:
            return nil
        case Tag.some:
            // The contents of an optional that is itself optional.
            return .some(try core.decodeValue(Wrapped.self, at: offset + 1, end: end, key: key))
        default:
            return .some(try core.decodeValue(Wrapped.self, at: offset, end: end, key: key))
        }
    }
}

extension Array: CodecDecodeDirect where Element: CodecScalar {
    static func decodeDirect(from core: DecoderCore, at offset: Int, end: Int, key: (any CodingKey)?) throws(CodecError)
        -> Self
    {
        let offset = core.skippingSome(offset)
        guard core.byte(at: offset) == Tag.packed else {
            // An unkeyed container of numbers, written by some other type: read it element by element.
            return try core.decodeThroughInit(Self.self, at: offset, end: end, key: key)
        }
        guard core.byte(at: offset + 1) == Element.codecTag else {
            throw key.map(core.mismatch(Self.self, at: offset).appending) ?? core.mismatch(Self.self, at: offset)
        }
        let (elements, start) = try core.keyed(key) { () throws(CodecError) in
            try core.readVarint(at: offset + 2, limit: end, type: Self.self)
        }
        let count = Int(elements)  // skipValue checked count × width against the bytes present
        return Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            if count > 0 {
                UnsafeMutableRawPointer(buffer.baseAddress!).copyMemory(
                    from: core.base + start, byteCount: count * MemoryLayout<Element>.stride)
            }
            initialized = count
        }
    }
}
