// The encoding containers of the binary codec: keyed, unkeyed and single-value, each writing
// through its EncoderCore (EncoderCore.swift), and the types encoded without their encode(to:).

struct KeyedEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let core: EncoderCore
    let frame: Int
    let serial: UInt32

    var codingPath: [any CodingKey] { core.codingPath }

    @inline(__always)
    private func begin(_ key: Key) throws(CodecError) {
        try core.prepareToWrite(frame: frame, serial: serial)
        core.writeKey(key)
    }

    @inline(__always)
    private func scalar<T: CodecScalar>(_ value: T, _ key: Key) throws(CodecError) {
        try begin(key)
        core.buffer.append(tag: T.codecTag, raw: value)
    }

    mutating func encodeNil(forKey key: Key) throws {
        try begin(key)
        core.buffer.append(byte: Tag.null)
    }
    mutating func encode(_ value: Bool, forKey key: Key) throws {
        try begin(key)
        core.buffer.append(byte: value ? Tag.true : Tag.false)
    }
    mutating func encode(_ value: String, forKey key: Key) throws {
        try begin(key)
        core.writeString(value)
    }
    mutating func encode(_ value: Double, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { try scalar(value, key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try begin(key)
        try core.encodeValue(value, key: key)
    }

    // A nil optional is written as nil, not left out, so the decoder finds every key in order.
    private mutating func present<T: Encodable>(_ value: T?, _ key: Key, _ write: (inout Self, T) throws -> Void) throws
    {
        if let value { try write(&self, value) } else { try encodeNil(forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Bool?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: String?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Float?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int8?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int16?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int32?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int64?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: Int128?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: UInt?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: UInt8?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: UInt16?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: UInt32?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: UInt64?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent(_ value: UInt128?, forKey key: Key) throws {
        try present(value, key) { try $0.encode($1, forKey: key) }
    }
    mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
        // Through Optional's direct encoding, which keeps `.some(nil)` apart from `nil`.
        try begin(key)
        try core.encodeValue(value, key: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
        -> KeyedEncodingContainer<NestedKey>
    {
        do {
            try begin(key)
        } catch {
            core.fail(error.description)
            return KeyedEncodingContainer(KeyedEncoder<NestedKey>(core: core, frame: -1, serial: 0))
        }
        let (frame, serial) = core.openContainer(keyed: true)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(core: core, frame: frame, serial: serial))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        do {
            try begin(key)
        } catch {
            core.fail(error.description)
            return UnkeyedEncoder(core: core, frame: -1, serial: 0)
        }
        let (frame, serial) = core.openContainer(keyed: false)
        return UnkeyedEncoder(core: core, frame: frame, serial: serial)
    }

    mutating func superEncoder() -> any Encoder {
        superEncoder(key: CodecKey.super)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(key: key)
    }

    private func superEncoder(key: some CodingKey) -> any Encoder {
        do {
            try core.prepareToWrite(frame: frame, serial: serial)
        } catch {
            core.fail(error.description)
        }
        core.writeKey(key)
        return core.makeSuperEncoder(key: key)
    }
}

struct UnkeyedEncoder: UnkeyedEncodingContainer {
    let core: EncoderCore
    let frame: Int
    let serial: UInt32
    private(set) var count = 0

    init(core: EncoderCore, frame: Int, serial: UInt32) {
        self.core = core
        self.frame = frame
        self.serial = serial
    }

    var codingPath: [any CodingKey] { core.codingPath }

    @inline(__always)
    private mutating func begin() throws(CodecError) {
        try core.prepareToWrite(frame: frame, serial: serial)
        count += 1
    }

    @inline(__always)
    private mutating func scalar<T: CodecScalar>(_ value: T) throws(CodecError) {
        try begin()
        core.buffer.append(tag: T.codecTag, raw: value)
    }

    mutating func encodeNil() throws {
        try begin()
        core.buffer.append(byte: Tag.null)
    }
    mutating func encode(_ value: Bool) throws {
        try begin()
        core.buffer.append(byte: value ? Tag.true : Tag.false)
    }
    mutating func encode(_ value: String) throws {
        try begin()
        core.writeString(value)
    }
    mutating func encode(_ value: Double) throws { try scalar(value) }
    mutating func encode(_ value: Float) throws { try scalar(value) }
    mutating func encode(_ value: Int) throws { try scalar(value) }
    mutating func encode(_ value: Int8) throws { try scalar(value) }
    mutating func encode(_ value: Int16) throws { try scalar(value) }
    mutating func encode(_ value: Int32) throws { try scalar(value) }
    mutating func encode(_ value: Int64) throws { try scalar(value) }
    mutating func encode(_ value: Int128) throws { try scalar(value) }
    mutating func encode(_ value: UInt) throws { try scalar(value) }
    mutating func encode(_ value: UInt8) throws { try scalar(value) }
    mutating func encode(_ value: UInt16) throws { try scalar(value) }
    mutating func encode(_ value: UInt32) throws { try scalar(value) }
    mutating func encode(_ value: UInt64) throws { try scalar(value) }
    mutating func encode(_ value: UInt128) throws { try scalar(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try begin()
        try core.encodeValue(value, key: CodecKey(index: count - 1))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<
        NestedKey
    > {
        do {
            try begin()
        } catch {
            core.fail(error.description)
            return KeyedEncodingContainer(KeyedEncoder<NestedKey>(core: core, frame: -1, serial: 0))
        }
        let (frame, serial) = core.openContainer(keyed: true)
        return KeyedEncodingContainer(KeyedEncoder<NestedKey>(core: core, frame: frame, serial: serial))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        do {
            try begin()
        } catch {
            core.fail(error.description)
            return UnkeyedEncoder(core: core, frame: -1, serial: 0)
        }
        let (frame, serial) = core.openContainer(keyed: false)
        return UnkeyedEncoder(core: core, frame: frame, serial: serial)
    }

    mutating func superEncoder() -> any Encoder {
        do {
            try begin()
        } catch {
            core.fail(error.description)
        }
        return core.makeSuperEncoder(key: CodecKey(index: count - 1))
    }
}

struct SingleValueEncoder: SingleValueEncodingContainer {
    let core: EncoderCore
    /// Where the value goes; writing is allowed once, while nothing else has been written there.
    let start: Int
    let frameBase: Int

    var codingPath: [any CodingKey] { core.codingPath }

    @inline(__always)
    private func begin() throws(CodecError) {
        guard core.buffer.count == start, core.frames.count == frameBase else {
            throw .unencodable(
                type: "value", path: core.pathText(nil),
                reason: "a single value container was written to twice, or after its value ended")
        }
    }

    @inline(__always)
    private func scalar<T: CodecScalar>(_ value: T) throws(CodecError) {
        try begin()
        core.buffer.append(tag: T.codecTag, raw: value)
    }

    mutating func encodeNil() throws {
        try begin()
        core.buffer.append(byte: Tag.null)
    }
    mutating func encode(_ value: Bool) throws {
        try begin()
        core.buffer.append(byte: value ? Tag.true : Tag.false)
    }
    mutating func encode(_ value: String) throws {
        try begin()
        core.writeString(value)
    }
    mutating func encode(_ value: Double) throws { try scalar(value) }
    mutating func encode(_ value: Float) throws { try scalar(value) }
    mutating func encode(_ value: Int) throws { try scalar(value) }
    mutating func encode(_ value: Int8) throws { try scalar(value) }
    mutating func encode(_ value: Int16) throws { try scalar(value) }
    mutating func encode(_ value: Int32) throws { try scalar(value) }
    mutating func encode(_ value: Int64) throws { try scalar(value) }
    mutating func encode(_ value: Int128) throws { try scalar(value) }
    mutating func encode(_ value: UInt) throws { try scalar(value) }
    mutating func encode(_ value: UInt8) throws { try scalar(value) }
    mutating func encode(_ value: UInt16) throws { try scalar(value) }
    mutating func encode(_ value: UInt32) throws { try scalar(value) }
    mutating func encode(_ value: UInt64) throws { try scalar(value) }
    mutating func encode(_ value: UInt128) throws { try scalar(value) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try begin()
        try core.encodeValue(value, key: nil)
    }
}

// MARK: Direct encodings

extension Bool: CodecEncodeDirect {
    func encodeDirect(into core: EncoderCore) throws(CodecError) {
        core.buffer.append(byte: self ? Tag.true : Tag.false)
    }
}

extension String: CodecEncodeDirect {
    func encodeDirect(into core: EncoderCore) throws(CodecError) {
        core.writeString(self)
    }
}

extension CodecScalar {
    func encodeDirect(into core: EncoderCore) throws(CodecError) {
        core.buffer.append(tag: Self.codecTag, raw: self)
    }
}

extension Int8: CodecEncodeDirect {}
extension Int16: CodecEncodeDirect {}
extension Int32: CodecEncodeDirect {}
extension Int64: CodecEncodeDirect {}
extension Int: CodecEncodeDirect {}
extension Int128: CodecEncodeDirect {}
extension UInt8: CodecEncodeDirect {}
extension UInt16: CodecEncodeDirect {}
extension UInt32: CodecEncodeDirect {}
extension UInt64: CodecEncodeDirect {}
extension UInt: CodecEncodeDirect {}
extension UInt128: CodecEncodeDirect {}
extension Float: CodecEncodeDirect {}
extension Double: CodecEncodeDirect {}

extension Optional: CodecEncodeDirect where Wrapped: Encodable {
    func encodeDirect(into core: EncoderCore) throws(CodecError) {
        switch self {
        case .none:
            core.buffer.append(byte: Tag.null)
        case .some(let wrapped):
            // Only an Optional inside an Optional needs a marker: `.some(nil)` is not `nil`.
            if Wrapped.self is any OptionalMarker.Type { core.buffer.append(byte: Tag.some) }
            try core.encodeValue(wrapped, key: nil)
        }
    }
}

extension Array: CodecEncodeDirect where Element: CodecScalar {
    /// Tag, element tag, count, then the elements' memory as is: one copy for `[UInt8]`, `[Double]`, ...
    @inline(__always)
    func encodeDirect(into core: EncoderCore) {
        let buffer = core.buffer
        withUnsafeBytes { raw in
            buffer.reserve(12 + raw.count)
            buffer.append(byte: Tag.packed)
            buffer.append(byte: Element.codecTag)
            buffer.appendVarint(UInt64(count))
            buffer.append(raw)
        }
    }
}
