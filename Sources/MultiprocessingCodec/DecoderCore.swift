// The decoding half of the binary codec. It never trusts the input: before a value is read, its
// extent is computed from its tag and length prefix and checked against the bytes that are left,
// so every read is in bounds and no allocation is larger than the input. Containers are views of
// the input; a keyed container reads fields in order (one key comparison each) and falls back to
// an index of its keys when a type asks for them in another order.

import Glibc

/// Types the decoder reads without calling their `init(from:)` (see `CodecEncodeDirect`).
protocol CodecDecodeDirect {
    static func decodeDirect(from core: DecoderCore, at offset: Int, end: Int, key: (any CodingKey)?) throws(CodecError)
        -> Self
}

package final class DecoderCore: Decoder {
    /// A keyed container being read: its fields' range, the next field in order, and (built on
    /// the first out-of-order request) the offset of every key's field.
    struct KeyedFrame {
        var start: Int
        var end: Int
        var cursor: Int
        var serial: UInt32
        var index: [String: Int]?
    }

    private nonisolated(unsafe) static let empty = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)

    @exclusivity(unchecked) private(set) var base = UnsafeRawPointer(DecoderCore.empty)
    @exclusivity(unchecked) private(set) var count = 0
    package var maxDepth: Int
    @exclusivity(unchecked) private(set) var frames: [KeyedFrame] = []
    @exclusivity(unchecked) private var nextSerial: UInt32 = 1
    /// Changes at the start and end of every decode, so that a container kept past its decode fails.
    @exclusivity(unchecked) private(set) var generation: UInt32 = 0
    @exclusivity(unchecked) package var codingPath: [any CodingKey] = []
    package var userInfo: [CodingUserInfoKey: Any] { [:] }
    /// The value `init(from: self)` is reading now: [position, valueEnd).
    @exclusivity(unchecked) private var position = 0
    @exclusivity(unchecked) private var valueEnd = 0
    @exclusivity(unchecked) private var depth = 0
    @exclusivity(unchecked) private(set) var currentType: Any.Type = Never.self
    @exclusivity(unchecked) private var rootType: Any.Type = Never.self
    /// The first error found where the Decoder protocol cannot throw (`allKeys`, `contains`).
    @exclusivity(unchecked) private var failure: CodecError?
    /// `failure != nil`, checked on the hot path without copying the optional error.
    @exclusivity(unchecked) private var failed = false

    package init(maxDepth: Int) {
        self.maxDepth = maxDepth
    }

    package func decode<T: Decodable>(_ type: T.Type, from input: UnsafeRawBufferPointer) throws(CodecError) -> T {
        base = input.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(DecoderCore.empty)
        count = input.count
        generation &+= 1
        while !frames.isEmpty { frames.removeLast() }
        if !codingPath.isEmpty { codingPath.removeAll(keepingCapacity: true) }
        failure = nil
        failed = false
        depth = 0
        rootType = T.self
        currentType = T.self
        defer {
            base = UnsafeRawPointer(DecoderCore.empty)
            count = 0
            generation &+= 1
            while !frames.isEmpty { frames.removeLast() }
        }
        let end = try skipValue(at: 0, limit: count, type: T.self)
        if end != count {
            throw .trailingBytes(type: String(describing: T.self), offset: end, count: count - end)
        }
        return try decodeValue(T.self, at: 0, end: end, key: nil)
    }

    // MARK: Values

    func decodeValue<T: Decodable>(_ type: T.Type, at offset: Int, end: Int, key: (any CodingKey)?) throws(CodecError)
        -> T
    {
        if T.self == String.self {
            return unsafeBitCast(
                try keyed(key) { () throws(CodecError) in try readString(at: offset, end: end) }, to: T.self)
        }
        if T.self == [UInt8].self {
            return unsafeBitCast(
                try keyed(key) { () throws(CodecError) in try readBytes(at: offset, end: end) }, to: T.self)
        }
        if let direct = T.self as? any CodecDecodeDirect.Type {
            func read<D: CodecDecodeDirect>(_: D.Type) throws(CodecError) -> T {
                unsafeBitCast(try D.decodeDirect(from: self, at: offset, end: end, key: key), to: T.self)
            }
            return try read(direct)
        }
        return try decodeThroughInit(T.self, at: offset, end: end, key: key)
    }

    /// Calls `T(from: self)` with [offset, end) as the current value.
    func decodeThroughInit<T: Decodable>(_ type: T.Type, at offset: Int, end: Int, key: (any CodingKey)?)
        throws(CodecError) -> T
    {
        if depth >= maxDepth {
            throw .tooDeep(type: String(describing: T.self), offset: offset, path: pathText(nil), limit: maxDepth)
        }
        let saved = (position, valueEnd, currentType, frames.count)
        depth += 1
        position = offset
        valueEnd = end
        currentType = T.self
        if let key { codingPath.append(key) }
        defer {
            if key != nil { codingPath.removeLast() }
            (position, valueEnd, currentType) = (saved.0, saved.1, saved.2)
            while frames.count > saved.3 { frames.removeLast() }
            depth -= 1
        }
        let value: T
        do {
            value = try T(from: self)
        } catch let error as CodecError {
            throw error
        } catch {
            throw .rejected(
                type: String(describing: T.self), offset: offset, path: pathText(nil), reason: reasonText(error))
        }
        if failed, let failure { throw failure }
        return value
    }

    // MARK: Reading the input

    @inline(__always)
    func byte(at offset: Int) -> UInt8 {
        base.load(fromByteOffset: offset, as: UInt8.self)
    }

    /// Skips `some` prefixes, which only mark optionals nested in optionals.
    @inline(__always)
    func skippingSome(_ offset: Int) -> Int {
        var offset = offset
        while byte(at: offset) == Tag.some { offset += 1 }
        return offset
    }

    /// Reads an unsigned LEB128 varint in [offset, limit): its value and the offset after it.
    func readVarint(at offset: Int, limit: Int, type: Any.Type) throws(CodecError) -> (UInt64, Int) {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var offset = offset
        while true {
            guard offset < limit else {
                throw .truncated(type: String(describing: type), offset: offset, path: pathText(nil))
            }
            let byte = byte(at: offset)
            offset += 1
            if shift == 63 && byte > 1 {
                throw .invalidData(
                    type: String(describing: type), offset: offset - 1, path: pathText(nil),
                    reason: "a varint overflows 64 bits")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return (value, offset) }
            shift += 7
        }
    }

    /// Where the value at `offset` ends, checked against `limit` without reading the value.
    /// Every tag, width and length prefix is validated here, before anything is read or allocated.
    func skipValue(at offset: Int, limit: Int, type: Any.Type) throws(CodecError) -> Int {
        var offset = offset
        while true {
            guard offset < limit else {
                throw .truncated(type: String(describing: type), offset: offset, path: pathText(nil))
            }
            let tag = byte(at: offset)
            switch tag {
            case Tag.null, Tag.false, Tag.true:
                return offset + 1
            case Tag.some:
                offset += 1
            case Tag.string:
                let (length, after) = try readVarint(at: offset + 1, limit: limit, type: type)
                guard length <= UInt64(limit - after) else {
                    throw .lengthOutOfRange(
                        type: String(describing: type), offset: offset, path: pathText(nil),
                        length: length, remaining: limit - after)
                }
                return after + Int(length)
            case Tag.packed:
                guard offset + 2 <= limit else {
                    throw .truncated(type: String(describing: type), offset: offset, path: pathText(nil))
                }
                guard let width = Tag.numberWidth(byte(at: offset + 1)) else {
                    throw .invalidData(
                        type: String(describing: type), offset: offset + 1, path: pathText(nil),
                        reason: "a packed array of unknown element tag 0x" + String(byte(at: offset + 1), radix: 16))
                }
                let (elements, after) = try readVarint(at: offset + 2, limit: limit, type: type)
                guard elements <= UInt64((limit - after) / width) else {
                    let (bytes, overflow) = elements.multipliedReportingOverflow(by: UInt64(width))
                    throw .lengthOutOfRange(
                        type: String(describing: type), offset: offset, path: pathText(nil),
                        length: overflow ? .max : bytes, remaining: limit - after)
                }
                return after + Int(elements) * width
            case Tag.keyed, Tag.unkeyed:
                guard offset + Tag.containerHeader <= limit else {
                    throw .truncated(type: String(describing: type), offset: offset, path: pathText(nil))
                }
                let length = base.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self)
                let remaining = limit - offset - Tag.containerHeader
                guard Int(length) <= remaining else {
                    throw .lengthOutOfRange(
                        type: String(describing: type), offset: offset, path: pathText(nil),
                        length: UInt64(length), remaining: remaining)
                }
                return offset + Tag.containerHeader + Int(length)
            default:
                guard let width = Tag.numberWidth(tag) else {
                    throw .invalidData(
                        type: String(describing: type), offset: offset, path: pathText(nil),
                        reason: "unknown tag 0x" + String(tag, radix: 16))
                }
                guard offset + 1 + width <= limit else {
                    throw .truncated(type: String(describing: type), offset: offset, path: pathText(nil))
                }
                return offset + 1 + width
            }
        }
    }

    /// The error for a value of the wrong kind at `offset`.
    func mismatch(_ type: Any.Type, at offset: Int) -> CodecError {
        var found = Tag.name(byte(at: offset))
        if byte(at: offset) == Tag.packed { found += " of " + Tag.name(byte(at: offset + 1)) }
        return .typeMismatch(type: String(describing: type), offset: offset, path: pathText(nil), found: found)
    }

    // The readers below are only called on a value whose extent skipValue has checked.

    @inline(__always)
    func readScalar<T: CodecScalar>(_ type: T.Type, at offset: Int, end: Int) throws(CodecError) -> T {
        var offset = offset
        if byte(at: offset) == Tag.some { offset = skippingSome(offset) }
        guard byte(at: offset) == T.codecTag else { throw mismatch(T.self, at: offset) }
        return base.loadUnaligned(fromByteOffset: offset + 1, as: T.self)
    }

    @inline(__always)
    func readBool(at offset: Int, end: Int) throws(CodecError) -> Bool {
        let offset = skippingSome(offset)
        switch byte(at: offset) {
        case Tag.true: return true
        case Tag.false: return false
        default: throw mismatch(Bool.self, at: offset)
        }
    }

    func readString(at offset: Int, end: Int) throws(CodecError) -> String {
        let offset = skippingSome(offset)
        guard byte(at: offset) == Tag.string else { throw mismatch(String.self, at: offset) }
        let (length, start) = try readVarint(at: offset + 1, limit: end, type: String.self)
        if length == 0 { return "" }
        let utf8 = UnsafeBufferPointer(
            start: base.advanced(by: start).assumingMemoryBound(to: UInt8.self), count: Int(length))
        if isASCII(utf8) { return String(decoding: utf8, as: UTF8.self) }  // ASCII is valid UTF-8: skip validation
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw .invalidData(
                type: "String", offset: offset, path: pathText(nil), reason: "the bytes are not valid UTF-8")
        }
        return string
    }

    /// True when every byte is below 0x80, eight bytes at a time.
    @inline(__always)
    private func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        var index = 0
        var bits: UInt64 = 0
        while index + 8 <= bytes.count {
            bits |= raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            index += 8
        }
        while index < bytes.count {
            bits |= UInt64(bytes[index])
            index += 1
        }
        return bits & 0x8080_8080_8080_8080 == 0
    }

    /// `[UInt8]` without generic code: the commonest packed array, read with one copy.
    func readBytes(at offset: Int, end: Int) throws(CodecError) -> [UInt8] {
        let offset = skippingSome(offset)
        guard byte(at: offset) == Tag.packed, byte(at: offset + 1) == Tag.uint8 else {
            if byte(at: offset) == Tag.unkeyed {
                return try decodeThroughInit([UInt8].self, at: offset, end: end, key: nil)
            }
            throw mismatch([UInt8].self, at: offset)
        }
        let (count, start) = try readVarint(at: offset + 2, limit: end, type: [UInt8].self)
        return [UInt8](UnsafeRawBufferPointer(start: base + start, count: Int(count)))
    }

    /// A key at `offset` in a keyed container: where its bytes are, and where its value starts.
    @inline(__always)
    func readKey(at offset: Int, limit: Int) throws(CodecError) -> (start: Int, count: Int, value: Int) {
        let (length, start) = try readVarint(at: offset, limit: limit, type: currentType)
        guard length <= UInt64(limit - start) else {
            throw .lengthOutOfRange(
                type: String(describing: currentType), offset: offset, path: pathText(nil),
                length: length, remaining: limit - start)
        }
        return (start, Int(length), start + Int(length))
    }

    /// Runs `body`, adding `key` to the path of an error it throws (the helpers it calls take no
    /// key, so that the hot path passes none around).
    @inline(__always)
    func keyed<T>(_ key: some CodingKey, _ body: () throws(CodecError) -> T) throws(CodecError) -> T {
        do {
            return try body()
        } catch {
            throw error.appending(key)
        }
    }

    @inline(__always)
    func keyed<T>(_ key: (any CodingKey)?, _ body: () throws(CodecError) -> T) throws(CodecError) -> T {
        do {
            return try body()
        } catch {
            guard let key else { throw error }
            throw error.appending(key)
        }
    }

    // MARK: Containers

    func openKeyed(at offset: Int, end: Int) throws(CodecError) -> (frame: Int, serial: UInt32) {
        let offset = skippingSome(offset)
        guard byte(at: offset) == Tag.keyed else { throw mismatch(currentType, at: offset) }
        let serial = nextSerial
        nextSerial &+= 1
        let start = offset + Tag.containerHeader
        frames.append(KeyedFrame(start: start, end: end, cursor: start, serial: serial, index: nil))
        return (frames.count - 1, serial)
    }

    func openUnkeyed(at offset: Int, end: Int) throws(CodecError) -> UnkeyedDecoder {
        let offset = skippingSome(offset)
        switch byte(at: offset) {
        case Tag.unkeyed:
            return UnkeyedDecoder(
                core: self, start: offset + Tag.containerHeader, end: end, packedTag: 0, packedCount: 0)
        case Tag.packed:
            let (elements, start) = try readVarint(at: offset + 2, limit: end, type: currentType)
            return UnkeyedDecoder(
                core: self, start: start, end: end, packedTag: byte(at: offset + 1), packedCount: Int(elements))
        default:
            throw mismatch(currentType, at: offset)
        }
    }

    private func staleContainer() -> CodecError {
        .invalidData(
            type: String(describing: currentType), offset: position, path: pathText(nil),
            reason: "a container was used after the value it belongs to was decoded")
    }

    /// The field for `key` in keyed frame `frame`: its value's extent, or nil when the key is absent.
    func field(_ frame: Int, _ serial: UInt32, _ key: some CodingKey) throws(CodecError) -> (value: Int, end: Int)? {
        guard frame < frames.count, frames[frame].serial == serial else { throw staleContainer() }
        let limit = frames[frame].end
        let cursor = frames[frame].cursor
        if cursor < limit {
            // The fast path: fields are usually asked for in the order they were written.
            let (start, length, value) = try readKey(at: cursor, limit: limit)
            var name = key.stringValue
            let matches = name.withUTF8 { utf8 in
                utf8.count == length && (length == 0 || memcmp(utf8.baseAddress!, base + start, length) == 0)
            }
            if matches {
                return (
                    value,
                    try keyed(key) { () throws(CodecError) in try skipValue(at: value, limit: limit, type: currentType)
                    }
                )
            }
        }
        if frames[frame].index == nil { frames[frame].index = try buildIndex(from: frames[frame].start, to: limit) }
        guard let fieldStart = frames[frame].index![key.stringValue] else { return nil }
        let (_, _, value) = try readKey(at: fieldStart, limit: limit)
        return (
            value, try keyed(key) { () throws(CodecError) in try skipValue(at: value, limit: limit, type: currentType) }
        )
    }

    /// Marks the field ending at `end` as read: the next in-order request starts after it.
    @inline(__always)
    func consume(_ frame: Int, upTo end: Int) {
        frames[frame].cursor = end
    }

    private func buildIndex(from start: Int, to limit: Int) throws(CodecError) -> [String: Int] {
        var index: [String: Int] = [:]
        var offset = start
        while offset < limit {
            let (keyStart, length, value) = try readKey(at: offset, limit: limit)
            let name = String(decoding: UnsafeRawBufferPointer(start: base + keyStart, count: length), as: UTF8.self)
            if index[name] == nil { index[name] = offset }
            offset = try skipValue(at: value, limit: limit, type: currentType)
        }
        return index
    }

    func allKeys<Key: CodingKey>(_ frame: Int, _ serial: UInt32, as: Key.Type) -> [Key] {
        guard frame < frames.count, frames[frame].serial == serial else {
            recordFailure(staleContainer())
            return []
        }
        var keys: [Key] = []
        var offset = frames[frame].start
        let limit = frames[frame].end
        do throws(CodecError) {
            while offset < limit {
                let (keyStart, length, value) = try readKey(at: offset, limit: limit)
                let bytes = UnsafeBufferPointer(
                    start: (base + keyStart).assumingMemoryBound(to: UInt8.self), count: length)
                guard let name = String(validating: bytes, as: UTF8.self) else {
                    throw CodecError.invalidData(
                        type: String(describing: currentType), offset: keyStart,
                        path: pathText(nil), reason: "a key is not valid UTF-8")
                }
                if let key = Key(stringValue: name) { keys.append(key) }
                offset = try skipValue(at: value, limit: limit, type: currentType)
            }
        } catch {
            recordFailure(error)
        }
        return keys
    }

    func recordFailure(_ error: CodecError) {
        if failure == nil { failure = error }
        failed = true
    }

    /// How many values an unkeyed container holds (only when a type asks for `count`).
    func countValues(from start: Int, to end: Int) -> Int? {
        var offset = start
        var values = 0
        while offset < end {
            guard let next = try? skipValue(at: offset, limit: end, type: currentType) else { return nil }
            offset = next
            values += 1
        }
        return values
    }

    func superDecoder(at offset: Int, end: Int, key: any CodingKey) -> any Decoder {
        SuperDecoder(core: self, position: offset, end: end, codingPath: codingPath + [key])
    }

    // MARK: Decoder

    package func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try keyedContainer(at: position, end: valueEnd, keyedBy: type)
    }

    func keyedContainer<Key: CodingKey>(at offset: Int, end: Int, keyedBy type: Key.Type) throws(CodecError)
        -> KeyedDecodingContainer<Key>
    {
        let (frame, serial) = try openKeyed(at: offset, end: end)
        return KeyedDecodingContainer(KeyedDecoder<Key>(core: self, frame: frame, serial: serial))
    }

    package func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try openUnkeyed(at: position, end: valueEnd)
    }

    package func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueDecoder(core: self, position: position, end: valueEnd)
    }

    func pathText(_ key: (any CodingKey)?) -> String {
        var path = codingPath
        if let key { path.append(key) }
        return describePath(root: String(describing: rootType), path)
    }
}
