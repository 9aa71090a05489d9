// The keyed half of decoding: the decoder a superDecoder() call returns, and the keyed container,
// which reads fields in order and falls back to an index of its keys (DecoderCore.swift).

/// The decoder a `superDecoder()` call returns: it reads one field's value.
final class SuperDecoder: Decoder {
    let core: DecoderCore
    let position: Int
    let end: Int
    let generation: UInt32
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(core: DecoderCore, position: Int, end: Int, codingPath: [any CodingKey]) {
        self.core = core
        self.position = position
        self.end = end
        self.generation = core.generation
        self.codingPath = codingPath
    }

    private func check() throws(CodecError) {
        guard generation == core.generation else {
            throw .invalidData(
                type: "super", offset: position, path: core.pathText(nil),
                reason: "a super decoder was used after its decode ended")
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try check()
        return try core.keyedContainer(at: position, end: end, keyedBy: type)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try check()
        return try core.openUnkeyed(at: position, end: end)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        try check()
        return SingleValueDecoder(core: core, position: position, end: end)
    }
}

struct KeyedDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let core: DecoderCore
    let frame: Int
    let serial: UInt32

    var codingPath: [any CodingKey] { core.codingPath }

    var allKeys: [Key] { core.allKeys(frame, serial, as: Key.self) }

    func contains(_ key: Key) -> Bool {
        do {
            return try core.field(frame, serial, key) != nil
        } catch {
            core.recordFailure(error)
            return false
        }
    }

    @inline(__always)
    private func required(_ key: Key) throws(CodecError) -> (value: Int, end: Int) {
        guard let field = try core.field(frame, serial, key) else {
            let frameStart = core.frames[frame].start
            throw .keyNotFound(
                type: String(describing: core.currentType), offset: frameStart,
                path: core.pathText(nil), key: key.stringValue)
        }
        return field
    }

    @inline(__always)
    private func scalar<T: CodecScalar>(_ type: T.Type, _ key: Key) throws(CodecError) -> T {
        let field = try required(key)
        let value = try core.readScalar(T.self, at: field.value, end: field.end)
        core.consume(frame, upTo: field.end)
        return value
    }

    @inline(__always)
    private func optionalScalar<T: CodecScalar>(_ type: T.Type, _ key: Key) throws(CodecError) -> T? {
        guard let field = try core.field(frame, serial, key) else { return nil }
        core.consume(frame, upTo: field.end)
        if core.byte(at: field.value) == Tag.null { return nil }
        return try core.readScalar(T.self, at: field.value, end: field.end)
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        let field = try required(key)
        guard core.byte(at: field.value) == Tag.null else { return false }
        core.consume(frame, upTo: field.end)
        return true
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        let field = try required(key)
        let value = try core.keyed(key) { () throws(CodecError) in try core.readBool(at: field.value, end: field.end) }
        core.consume(frame, upTo: field.end)
        return value
    }

    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        let field = try required(key)
        let value = try core.keyed(key) { () throws(CodecError) in try core.readString(at: field.value, end: field.end)
        }
        core.consume(frame, upTo: field.end)
        return value
    }

    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try scalar(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try scalar(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try scalar(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try scalar(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try scalar(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try scalar(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try scalar(type, key) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try scalar(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try scalar(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try scalar(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try scalar(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try scalar(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try scalar(type, key) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try scalar(type, key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let field = try required(key)
        let value = try core.decodeValue(T.self, at: field.value, end: field.end, key: key)
        core.consume(frame, upTo: field.end)
        return value
    }

    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let field = try core.field(frame, serial, key) else { return nil }
        core.consume(frame, upTo: field.end)
        if core.byte(at: field.value) == Tag.null { return nil }
        return try core.keyed(key) { () throws(CodecError) in try core.readBool(at: field.value, end: field.end) }
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let field = try core.field(frame, serial, key) else { return nil }
        core.consume(frame, upTo: field.end)
        if core.byte(at: field.value) == Tag.null { return nil }
        return try core.keyed(key) { () throws(CodecError) in try core.readString(at: field.value, end: field.end) }
    }

    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: Int128.Type, forKey key: Key) throws -> Int128? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? { try optionalScalar(type, key) }
    func decodeIfPresent(_ type: UInt128.Type, forKey key: Key) throws -> UInt128? { try optionalScalar(type, key) }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let field = try core.field(frame, serial, key) else { return nil }
        let value = try core.decodeValue(T?.self, at: field.value, end: field.end, key: key)
        core.consume(frame, upTo: field.end)
        return value
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let field = try required(key)
        let container = try core.keyed(key) { () throws(CodecError) in
            try core.keyedContainer(at: field.value, end: field.end, keyedBy: NestedKey.self)
        }
        core.consume(frame, upTo: field.end)
        return container
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let field = try required(key)
        let container = try core.keyed(key) { () throws(CodecError) in
            try core.openUnkeyed(at: field.value, end: field.end)
        }
        core.consume(frame, upTo: field.end)
        return container
    }

    func superDecoder() throws -> any Decoder {
        guard let field = try core.field(frame, serial, CodecKey.super) else {
            throw CodecError.keyNotFound(
                type: String(describing: core.currentType),
                offset: core.frames[frame].start, path: core.pathText(nil), key: "super")
        }
        core.consume(frame, upTo: field.end)
        return core.superDecoder(at: field.value, end: field.end, key: CodecKey.super)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        let field = try required(key)
        core.consume(frame, upTo: field.end)
        return core.superDecoder(at: field.value, end: field.end, key: key)
    }
}
