// The encoding half of the binary codec: a streaming Encoder that writes straight into one
// reusable buffer. Containers are written in place; each container's length is filled in when it
// is finished, which is when its value ends or when an outer container is written to again.
// So containers must be used in nested order, as synthesized Codable and ordinary hand-written
// code do; writing to a container after an outer one moved on is an `unencodable` error.

/// Types the encoder writes without calling their `encode(to:)`: numbers, Bool, String,
/// Optional (to keep `.some(nil)` apart from `nil`) and arrays of numbers (packed).
protocol CodecEncodeDirect {
    func encodeDirect(into core: EncoderCore) throws(CodecError)
}

/// Marks Optional, whatever it wraps, so that nested optionals get a `some` prefix.
protocol OptionalMarker {}
extension Optional: OptionalMarker {}

/// One value being encoded: where it starts and which container it opened.
struct ValueSlot {
    /// Buffer offset where the value starts.
    var start: Int
    /// `frames.count` when the value started: frames above belong to it.
    var frameBase: Int
    /// The frame of the value's own keyed or unkeyed container, or -1.
    var container = -1
    var containerSerial: UInt32 = 0
    /// A super encoder's slot holds an empty keyed container until the super encoder is used.
    var placeholder = false
}

final class EncoderCore: Encoder {
    /// An open container: where its header is, so its length can be filled in.
    struct Frame {
        var header: Int
        var serial: UInt32
        var keyed: Bool
    }

    let buffer: ByteBuffer
    var maxDepth: Int
    @exclusivity(unchecked) private(set) var frames: [Frame] = []
    @exclusivity(unchecked) private var nextSerial: UInt32 = 1
    @exclusivity(unchecked) var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// The value `encode(to: self)` is writing now.
    @exclusivity(unchecked) var slot = ValueSlot(start: 0, frameBase: 0)
    @exclusivity(unchecked) private var depth = 0
    @exclusivity(unchecked) private var currentType: Any.Type = Never.self
    @exclusivity(unchecked) private var rootType: Any.Type = Never.self
    /// The first error found where the Encoder protocol cannot throw (creating containers).
    @exclusivity(unchecked) private var failure: CodecError?
    /// `failure != nil`, checked on the hot path without copying the optional error.
    @exclusivity(unchecked) private var failed = false

    init(buffer: ByteBuffer = ByteBuffer(), maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    /// Encodes `value` after whatever the buffer already holds (e.g. a frame header).
    func encode<T: Encodable>(_ value: T) throws(CodecError) {
        while !frames.isEmpty { frames.removeLast() }
        if !codingPath.isEmpty { codingPath.removeAll(keepingCapacity: true) }
        failure = nil
        failed = false
        depth = 0
        rootType = T.self
        currentType = T.self
        slot = ValueSlot(start: buffer.count, frameBase: 0)
        try encodeValue(value, key: nil)
        if failed, let failure { throw failure }
    }

    // MARK: Values

    /// Encodes one value in the current position: directly for the types that allow it,
    /// otherwise through its `encode(to:)` with this encoder.
    func encodeValue<T: Encodable>(_ value: T, key: (any CodingKey)?) throws(CodecError) {
        if T.self == String.self {
            writeString(unsafeBitCast(value, to: String.self))
            return
        }
        if T.self == [UInt8].self {
            unsafeBitCast(value, to: [UInt8].self).encodeDirect(into: self)
            return
        }
        if let direct = T.self as? any CodecEncodeDirect.Type {
            func write<D: CodecEncodeDirect>(_: D.Type) throws(CodecError) {
                try unsafeBitCast(value, to: D.self).encodeDirect(into: self)
            }
            try write(direct)
            return
        }
        if depth >= maxDepth {
            throw .unencodable(
                type: String(describing: T.self), path: pathText(key),
                reason: "values nested more than \(maxDepth) deep")
        }
        let savedSlot = slot
        let savedType = currentType
        depth += 1
        currentType = T.self
        if let key { codingPath.append(key) }
        slot = ValueSlot(start: buffer.count, frameBase: frames.count)
        do {
            try value.encode(to: self)
        } catch let error as CodecError {
            throw error
        } catch {
            throw .unencodable(type: String(describing: T.self), path: pathText(nil), reason: reasonText(error))
        }
        if failed, let failure { throw failure }
        try closeFrames(downTo: slot.frameBase)
        if buffer.count == slot.start {
            // The value wrote nothing: record an empty keyed container, as JSON records `{}`.
            buffer.append(byte: Tag.keyed)
            buffer.append(raw: UInt32(0))
        }
        if key != nil { codingPath.removeLast() }
        currentType = savedType
        depth -= 1
        slot = savedSlot
    }

    @inline(__always)
    func writeString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            buffer.reserve(11 + utf8.count)
            buffer.append(byte: Tag.string)
            buffer.appendVarint(UInt64(utf8.count))
            buffer.append(UnsafeRawBufferPointer(utf8))
        }
    }

    @inline(__always)
    func writeKey(_ key: some CodingKey) {
        var name = key.stringValue
        name.withUTF8 { utf8 in
            buffer.appendVarint(UInt64(utf8.count))
            buffer.append(UnsafeRawBufferPointer(utf8))
        }
    }

    // MARK: Containers

    /// Starts a container at the end of the buffer; its length is filled in when it is closed.
    func openContainer(keyed: Bool) -> (frame: Int, serial: UInt32) {
        let serial = nextSerial
        nextSerial &+= 1
        frames.append(Frame(header: buffer.count, serial: serial, keyed: keyed))
        buffer.append(byte: keyed ? Tag.keyed : Tag.unkeyed)
        buffer.append(raw: UInt32(0))
        return (frames.count - 1, serial)
    }

    /// Fills in the lengths of the containers from the top of the stack down to `count` open ones.
    func closeFrames(downTo count: Int) throws(CodecError) {
        while frames.count > count {
            let frame = frames.removeLast()
            let length = buffer.count - frame.header - Tag.containerHeader
            guard length <= Int(UInt32.max) else {
                throw .unencodable(
                    type: String(describing: currentType), path: pathText(nil),
                    reason: "a container of \(length) bytes is larger than 4 GiB")
            }
            buffer.store(UInt32(length), at: frame.header + 1)
        }
    }

    /// Before writing into the container `frame`: checks that it is still open, and finishes the
    /// containers nested in it.
    @inline(__always)
    func prepareToWrite(frame: Int, serial: UInt32) throws(CodecError) {
        guard frame >= 0, frame < frames.count, frames[frame].serial == serial else {
            throw failure
                ?? .unencodable(
                    type: String(describing: currentType), path: pathText(nil),
                    reason: "a container was written to after it was finished (containers must be used in nested order)"
                )
        }
        if frames.count > frame + 1 { try closeFrames(downTo: frame + 1) }
    }

    func fail(_ reason: String) {
        if failure == nil {
            failure = .unencodable(type: String(describing: currentType), path: pathText(nil), reason: reason)
        }
        failed = true
    }

    /// A super encoder's value replaces its placeholder, if nothing was written after it.
    func claimPlaceholder(_ slot: inout ValueSlot) -> Bool {
        guard slot.placeholder else { return true }
        guard buffer.count == slot.start + Tag.containerHeader, frames.count == slot.frameBase else {
            fail("a super encoder was used after other values were encoded")
            return false
        }
        buffer.count = slot.start
        slot.placeholder = false
        return true
    }

    func keyedContainer<Key: CodingKey>(in slot: inout ValueSlot, keyedBy: Key.Type) -> KeyedEncodingContainer<Key> {
        // A second request for the same value (a subclass and its superclass sharing one encoder)
        // gets the same container.
        if slot.container >= 0, slot.container < frames.count, frames[slot.container].serial == slot.containerSerial,
            frames[slot.container].keyed
        {
            return KeyedEncodingContainer(KeyedEncoder(core: self, frame: slot.container, serial: slot.containerSerial))
        }
        guard claimPlaceholder(&slot) else {
            return KeyedEncodingContainer(KeyedEncoder(core: self, frame: -1, serial: 0))
        }
        guard buffer.count == slot.start, frames.count == slot.frameBase else {
            fail("a value asked for a keyed container after it had encoded something else")
            return KeyedEncodingContainer(KeyedEncoder(core: self, frame: -1, serial: 0))
        }
        let (frame, serial) = openContainer(keyed: true)
        slot.container = frame
        slot.containerSerial = serial
        return KeyedEncodingContainer(KeyedEncoder(core: self, frame: frame, serial: serial))
    }

    func unkeyedContainer(in slot: inout ValueSlot) -> any UnkeyedEncodingContainer {
        if slot.container >= 0, slot.container < frames.count, frames[slot.container].serial == slot.containerSerial,
            !frames[slot.container].keyed
        {
            return UnkeyedEncoder(core: self, frame: slot.container, serial: slot.containerSerial)
        }
        guard claimPlaceholder(&slot) else { return UnkeyedEncoder(core: self, frame: -1, serial: 0) }
        guard buffer.count == slot.start, frames.count == slot.frameBase else {
            fail("a value asked for an unkeyed container after it had encoded something else")
            return UnkeyedEncoder(core: self, frame: -1, serial: 0)
        }
        let (frame, serial) = openContainer(keyed: false)
        slot.container = frame
        slot.containerSerial = serial
        return UnkeyedEncoder(core: self, frame: frame, serial: serial)
    }

    func singleValueContainer(in slot: inout ValueSlot) -> any SingleValueEncodingContainer {
        _ = claimPlaceholder(&slot)
        return SingleValueEncoder(core: self, start: slot.start, frameBase: slot.frameBase)
    }

    /// A super encoder: its value goes at the current position; a placeholder holds the place.
    func makeSuperEncoder(key: any CodingKey) -> any Encoder {
        let start = buffer.count
        buffer.append(byte: Tag.keyed)
        buffer.append(raw: UInt32(0))
        var slot = ValueSlot(start: start, frameBase: frames.count)
        slot.placeholder = true
        return SuperEncoder(core: self, slot: slot, codingPath: codingPath + [key])
    }

    // MARK: Encoder

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        keyedContainer(in: &slot, keyedBy: type)
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        unkeyedContainer(in: &slot)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        singleValueContainer(in: &slot)
    }

    func pathText(_ key: (any CodingKey)?) -> String {
        var path = codingPath
        if let key { path.append(key) }
        return describePath(root: String(describing: rootType), path)
    }
}

/// The encoder a `superEncoder()` call returns: its value lives where the call was made.
final class SuperEncoder: Encoder {
    let core: EncoderCore
    var slot: ValueSlot
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(core: EncoderCore, slot: ValueSlot, codingPath: [any CodingKey]) {
        self.core = core
        self.slot = slot
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        core.keyedContainer(in: &slot, keyedBy: type)
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        core.unkeyedContainer(in: &slot)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        core.singleValueContainer(in: &slot)
    }
}

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
