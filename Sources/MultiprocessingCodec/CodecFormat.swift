// The wire format of the binary codec (the growable buffer it is written into is ByteBuffer.swift).
//
// Every value starts with a one-byte tag:
//
//   0x01 nil            0x02 false          0x03 true
//   0x04 some           prefix: the next value is the contents of an Optional whose contents are
//                       themselves Optional (so that `.some(nil)` survives a round trip)
//   0x10 … 0x14         Int8, Int16, Int32, Int64 (and Int), Int128     little-endian, fixed width
//   0x18 … 0x1C         UInt8, UInt16, UInt32, UInt64 (and UInt), UInt128
//   0x20 Float  0x21 Double                                             IEEE 754 bit pattern
//   0x28 string         varint byte count, UTF-8
//   0x29 packed array   element tag (one of the number tags), varint element count, the elements
//                       back to back: `[UInt8]`, `[Int]`, `[Double]`, … in one memcpy
//   0x30 keyed          UInt32 byte length, then fields: varint key length, key (UTF-8), value
//   0x31 unkeyed        UInt32 byte length, then values
//
// Keyed containers carry their keys, so a decoder may read fields in any order, skip fields it
// does not know, ask whether a key is present, and list the keys (enums with associated values
// and dictionaries need that). Containers carry their byte length, so any value can be skipped in
// O(1) and a nested value's extent is known before it is decoded. Varints are unsigned LEB128.
//
// Performance notes: the hot stored properties of the buffer, the encoder and the decoder are
// `@exclusivity(unchecked)`: each of these objects is used by one thread at a time (a connection
// holds its lock around them), and Swift's dynamic exclusivity checks cost about 15% of a small
// struct's round trip. Helpers on the hot path take no coding key (an optional existential costs
// runtime calls to copy); the containers add the key to an error's path when one is thrown.

import Glibc

#if !_endian(little)
    #error("The binary codec writes numbers in the host's byte order, which it assumes is little-endian.")
#endif

enum Tag {
    static let null: UInt8 = 0x01
    static let `false`: UInt8 = 0x02
    static let `true`: UInt8 = 0x03
    static let some: UInt8 = 0x04
    static let int8: UInt8 = 0x10
    static let int16: UInt8 = 0x11
    static let int32: UInt8 = 0x12
    static let int64: UInt8 = 0x13
    static let int128: UInt8 = 0x14
    static let uint8: UInt8 = 0x18
    static let uint16: UInt8 = 0x19
    static let uint32: UInt8 = 0x1A
    static let uint64: UInt8 = 0x1B
    static let uint128: UInt8 = 0x1C
    static let float: UInt8 = 0x20
    static let double: UInt8 = 0x21
    static let string: UInt8 = 0x28
    static let packed: UInt8 = 0x29
    static let keyed: UInt8 = 0x30
    static let unkeyed: UInt8 = 0x31

    /// Bytes of a tag and its UInt32 length, at the start of every container.
    static let containerHeader = 5

    /// The payload width of a fixed-width number tag, or nil for any other byte.
    static func numberWidth(_ tag: UInt8) -> Int? {
        switch tag {
        case int8, uint8: return 1
        case int16, uint16: return 2
        case int32, uint32, float: return 4
        case int64, uint64, double: return 8
        case int128, uint128: return 16
        default: return nil
        }
    }

    /// What a tag stands for, for error messages.
    static func name(_ tag: UInt8) -> String {
        switch tag {
        case null: return "nil"
        case `false`, `true`: return "Bool"
        case some: return "Optional"
        case int8: return "Int8"
        case int16: return "Int16"
        case int32: return "Int32"
        case int64: return "Int64"
        case int128: return "Int128"
        case uint8: return "UInt8"
        case uint16: return "UInt16"
        case uint32: return "UInt32"
        case uint64: return "UInt64"
        case uint128: return "UInt128"
        case float: return "Float"
        case double: return "Double"
        case string: return "String"
        case packed: return "packed array"
        case keyed: return "keyed container"
        case unkeyed: return "unkeyed container"
        default: return "unknown tag 0x" + String(tag, radix: 16)
        }
    }
}

/// A number written as its little-endian bytes after a one-byte tag.
package protocol CodecScalar: Codable, BitwiseCopyable {
    static var codecTag: UInt8 { get }
}

extension Int8: CodecScalar { package static var codecTag: UInt8 { Tag.int8 } }
extension Int16: CodecScalar { package static var codecTag: UInt8 { Tag.int16 } }
extension Int32: CodecScalar { package static var codecTag: UInt8 { Tag.int32 } }
extension Int64: CodecScalar { package static var codecTag: UInt8 { Tag.int64 } }
extension Int: CodecScalar { package static var codecTag: UInt8 { Tag.int64 } }
extension Int128: CodecScalar { package static var codecTag: UInt8 { Tag.int128 } }
extension UInt8: CodecScalar { package static var codecTag: UInt8 { Tag.uint8 } }
extension UInt16: CodecScalar { package static var codecTag: UInt8 { Tag.uint16 } }
extension UInt32: CodecScalar { package static var codecTag: UInt8 { Tag.uint32 } }
extension UInt64: CodecScalar { package static var codecTag: UInt8 { Tag.uint64 } }
extension UInt: CodecScalar { package static var codecTag: UInt8 { Tag.uint64 } }
extension UInt128: CodecScalar { package static var codecTag: UInt8 { Tag.uint128 } }
extension Float: CodecScalar { package static var codecTag: UInt8 { Tag.float } }
extension Double: CodecScalar { package static var codecTag: UInt8 { Tag.double } }

/// A coding key made at run time: the `super` key, array indices in coding paths, dictionary keys.
struct CodecKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }

    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    static let `super` = CodecKey(stringValue: "super")
}

/// Renders a coding path for error messages: `Order.items[2].name`.
func describePath(root: String, _ path: [any CodingKey]) -> String {
    var text = root
    for key in path {
        if let index = key.intValue, key.stringValue.hasPrefix("Index ") {
            text += "[\(index)]"
        } else {
            text += "." + key.stringValue
        }
    }
    return text
}
