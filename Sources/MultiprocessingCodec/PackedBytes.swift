// PackedBytes: the codec's encoding of a `[UInt8]` (a packed array: tag, element tag, varint
// count, the bytes), for a connection that sends an array's memory without copying it into the
// encoder and receives one straight into a new array. The bytes are the same BinaryEncoder writes.

/// The header the codec writes before a `[UInt8]`'s bytes, written and recognised on its own.
package enum PackedBytes {
    /// The longest header: two tags and a 10-byte varint.
    package static var maxHeaderSize: Int { 12 }

    /// Writes the header of a `[UInt8]` of `count` bytes at `destination` (room for
    /// ``maxHeaderSize`` bytes) and returns its size. The bytes are BinaryEncoder's.
    package static func writeHeader(count: Int, to destination: UnsafeMutableRawPointer) -> Int {
        destination.storeBytes(of: Tag.packed, as: UInt8.self)
        destination.storeBytes(of: Tag.uint8, toByteOffset: 1, as: UInt8.self)
        var value = UInt64(count)
        var offset = 2
        while value >= 0x80 {
            destination.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: offset, as: UInt8.self)
            value >>= 7
            offset += 1
        }
        destination.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
        return offset + 1
    }

    /// When `prefix` starts an encoded value of exactly `length` bytes that is a `[UInt8]` (the
    /// header, then its bytes to the end): the header's size and the array's count. Nil for
    /// anything else (another type, or bytes BinaryDecoder would reject), which the caller then
    /// decodes the ordinary way. `prefix` holds at least the first `min(length, maxHeaderSize)` bytes.
    package static func parseHeader(_ prefix: UnsafeRawBufferPointer, length: Int) -> (headerSize: Int, count: Int)? {
        let available = min(prefix.count, length)
        guard available >= 3, prefix[0] == Tag.packed, prefix[1] == Tag.uint8 else { return nil }
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var offset = 2
        while offset < available && offset < maxHeaderSize {
            let byte = prefix[offset]
            offset += 1
            if shift == 63 && byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 {
                guard value == UInt64(length - offset) else { return nil }
                return (offset, Int(value))
            }
            shift += 7
        }
        return nil
    }
}
