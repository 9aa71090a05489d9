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

package final class EncoderCore: Encoder {
    /// An open container: where its header is, so its length can be filled in.
    struct Frame {
        var header: Int
        var serial: UInt32
        var keyed: Bool
        /// Bytes attached (not copied) before the header: the container's length counts from there.
        var attachedBefore = 0
    }

    /// A `[UInt8]` encoded by reference: its header is in the buffer, its bytes belong at `offset`
    /// (a position in the buffer) and are sent from the array's own memory by a gathering write.
    package struct Attachment {
        package let offset: Int
        package let bytes: [UInt8]
    }

    package let buffer: ByteBuffer
    package var maxDepth: Int
    @exclusivity(unchecked) private(set) var frames: [Frame] = []
    @exclusivity(unchecked) private var nextSerial: UInt32 = 1
    @exclusivity(unchecked) package var codingPath: [any CodingKey] = []
    package var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// The value `encode(to: self)` is writing now.
    @exclusivity(unchecked) var slot = ValueSlot(start: 0, frameBase: 0)
    @exclusivity(unchecked) private var depth = 0
    @exclusivity(unchecked) private var currentType: Any.Type = Never.self
    @exclusivity(unchecked) private var rootType: Any.Type = Never.self
    /// The first error found where the Encoder protocol cannot throw (creating containers).
    @exclusivity(unchecked) private var failure: CodecError?
    /// `failure != nil`, checked on the hot path without copying the optional error.
    @exclusivity(unchecked) private var failed = false
    /// A `[UInt8]` of at least this many bytes is attached instead of copied (0: never). Set by an
    /// owner that writes the buffer with `attachments` interleaved (the pool's parent does).
    package var attachmentThreshold = 0
    /// The arrays attached by the last `encode`, in buffer order.
    @exclusivity(unchecked) package private(set) var attachments: [Attachment] = []
    /// Their total size: the encoded value is `buffer.count + attachedBytes` bytes long.
    @exclusivity(unchecked) package private(set) var attachedBytes = 0

    /// Lets go of the arrays attached by the last `encode` (once they are sent).
    package func dropAttachments() {
        attachments.removeAll(keepingCapacity: true)
        attachedBytes = 0
    }

    package init(buffer: ByteBuffer = ByteBuffer(), maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    /// Encodes `value` after whatever the buffer already holds (e.g. a frame header).
    package func encode<T: Encodable>(_ value: T) throws(CodecError) {
        while !frames.isEmpty { frames.removeLast() }
        if !codingPath.isEmpty { codingPath.removeAll(keepingCapacity: true) }
        failure = nil
        failed = false
        depth = 0
        rootType = T.self
        currentType = T.self
        if attachedBytes > 0 || !attachments.isEmpty { dropAttachments() }
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
            let bytes = unsafeBitCast(value, to: [UInt8].self)
            if attachmentThreshold > 0 && bytes.count >= attachmentThreshold {
                buffer.reserve(PackedBytes.maxHeaderSize)
                buffer.count += PackedBytes.writeHeader(count: bytes.count, to: buffer.base + buffer.count)
                attachments.append(Attachment(offset: buffer.count, bytes: bytes))
                attachedBytes += bytes.count
            } else {
                bytes.encodeDirect(into: self)
            }
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
        frames.append(Frame(header: buffer.count, serial: serial, keyed: keyed, attachedBefore: attachedBytes))
        buffer.append(byte: keyed ? Tag.keyed : Tag.unkeyed)
        buffer.append(raw: UInt32(0))
        return (frames.count - 1, serial)
    }

    /// Fills in the lengths of the containers from the top of the stack down to `count` open ones.
    func closeFrames(downTo count: Int) throws(CodecError) {
        while frames.count > count {
            let frame = frames.removeLast()
            let length = buffer.count + attachedBytes - frame.header - frame.attachedBefore - Tag.containerHeader
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

    package func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        keyedContainer(in: &slot, keyedBy: type)
    }

    package func unkeyedContainer() -> any UnkeyedEncodingContainer {
        unkeyedContainer(in: &slot)
    }

    package func singleValueContainer() -> any SingleValueEncodingContainer {
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
