import Foundation
import XCTest

@testable import Multiprocessing
@testable import MultiprocessingCodec

// MARK: Sample types: every standard Codable shape

final class CodecTests: XCTestCase {
    private func roundTrip<T: Codable & Equatable>(_ value: T, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        let bytes = try BinaryEncoder().encode(value)
        let back = try BinaryDecoder().decode(T.self, from: bytes)
        XCTAssertEqual(back, value, file: file, line: line)
    }

    private func encodeError<T: Encodable>(_ value: T) -> CodecError? {
        do {
            _ = try BinaryEncoder().encode(value)
            return nil
        } catch {
            return error
        }
    }

    private func decodeError<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) -> CodecError? {
        do {
            _ = try BinaryDecoder().decode(T.self, from: bytes)
            return nil
        } catch {
            return error
        }
    }

    // MARK: Round trips

    func testScalarsRoundTrip() throws {
        for value in [0, 1, -1, .max, .min] { try roundTrip(value) }
        try roundTrip(Int8.min)
        try roundTrip(Int16.max)
        try roundTrip(Int32.min)
        try roundTrip(Int64.max)
        try roundTrip(UInt8.max)
        try roundTrip(UInt16.max)
        try roundTrip(UInt32.max)
        try roundTrip(UInt64.max)
        try roundTrip(UInt.max)
        try roundTrip(Int128.min)
        try roundTrip(UInt128.max)
        for value in [0.0, -0.0, 1e300, -.infinity, .leastNonzeroMagnitude, .pi] { try roundTrip(value) }
        try roundTrip(Float(1.5))
        try roundTrip(Float.greatestFiniteMagnitude)
        let nan = try BinaryDecoder().decode(Double.self, from: BinaryEncoder().encode(Double.nan))
        XCTAssertTrue(nan.isNaN)
        try roundTrip(true)
        try roundTrip(false)
        for text in ["", "a", "naïve café", "👩‍👩‍👧‍👦 family", String(repeating: "long ", count: 100_000)] {
            try roundTrip(text)
        }
    }

    func testFixedWidthEncodingIsCompact() throws {
        XCTAssertEqual(try BinaryEncoder().encode(7), [Tag.int64, 7, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try BinaryEncoder().encode(UInt8(7)), [Tag.uint8, 7])
        XCTAssertEqual(try BinaryEncoder().encode(true), [Tag.true])
        XCTAssertEqual(try BinaryEncoder().encode("hi"), [Tag.string, 2, 104, 105])
        XCTAssertEqual(
            try BinaryEncoder().encode([UInt8](repeating: 1, count: 3)), [Tag.packed, Tag.uint8, 3, 1, 1, 1])
        // A one-megabyte byte array costs four bytes of overhead, not one tag per byte.
        XCTAssertEqual(try BinaryEncoder().encode([UInt8](repeating: 0, count: 1 << 20)).count, (1 << 20) + 5)
        XCTAssertEqual(try BinaryEncoder().encode(Item(id: 1, name: "x", score: 2)).count, 5 + 3 + 9 + 5 + 3 + 6 + 9)
    }

    func testOptionalsRoundTrip() throws {
        try roundTrip(Int?.none)
        try roundTrip(Int?.some(5))
        try roundTrip(Int??.some(nil))
        try roundTrip(Int??.some(5))
        try roundTrip(Int??.none)
        try roundTrip(Int???.some(.some(nil)))
        try roundTrip([Int?]([1, nil, 3]))
        let sparse: [String: Int?] = ["a": 1, "b": Int?.none]
        try roundTrip(sparse)
    }

    func testCollectionsRoundTrip() throws {
        try roundTrip([Int]())
        try roundTrip([UInt8](repeating: 0xAB, count: 100_000))
        try roundTrip([Double](repeating: 1.25, count: 1000))
        try roundTrip([Int32](arrayLiteral: 1, -2, 3))
        try roundTrip([[String]]([["a"], [], ["b", "c"]]))
        try roundTrip([Bool](arrayLiteral: true, false, true))
        try roundTrip(Data((0..<1000).map { UInt8($0 & 0xFF) }))
        try roundTrip(Set(["x", "y"]))
        try roundTrip(["k": [1, 2], "": []])
        try roundTrip([Point(x: 1, y: 1): [Point(x: 2, y: 2)]])
        try roundTrip(ContiguousArray([1, 2, 3]))
    }

    func testEveryShapeRoundTrips() throws {
        try roundTrip(Everything())
        try roundTrip([Everything(), Everything()])
        try roundTrip(Empty())
        try roundTrip([Empty(), Empty()])
    }

    func testEnumsRoundTrip() throws {
        try roundTrip(Color.blue)
        try roundTrip(Level.low)
        try roundTrip(Direction.north)
        for shape: Shape in [
            .circle(radius: 2), .rectangle(width: 1, height: 2), .polygon([]), .labelled("", -1), .empty,
        ] {
            try roundTrip(shape)
        }
        try roundTrip(Tree.node(.node(.leaf(1), .leaf(2)), .leaf(3)))
    }

    func testClassesRoundTrip() throws {
        try roundTrip(Account(owner: "ada", balance: 100))
        let dog = try BinaryDecoder().decode(
            Dog.self, from: BinaryEncoder().encode(Dog(name: "rex", tricks: ["sit", "roll"])))
        XCTAssertEqual(dog.name, "rex")
        XCTAssertEqual(dog.tricks, ["sit", "roll"])
        let cat = try BinaryDecoder().decode(Cat.self, from: BinaryEncoder().encode(Cat(name: "tom", lives: 9)))
        XCTAssertEqual(cat.name, "tom")
        XCTAssertEqual(cat.lives, 9)
    }

    func testKeysCanBeReadInAnyOrderMissingOptionalsAreNilAndUnknownKeysAreSkipped() throws {
        try roundTrip(Shuffled(a: 1, b: "two", c: [3]))
        let old = try BinaryEncoder().encode(Version1(id: 7, name: "seven", legacy: true))
        XCTAssertEqual(try BinaryDecoder().decode(Version2.self, from: old), Version2(id: 7, name: "seven", note: nil))
    }

    func testTheEncoderIsReusableAndDeterministic() throws {
        let first = try BinaryEncoder().encode(Everything())
        XCTAssertEqual(try BinaryEncoder().encode(Everything()).count, first.count)
        XCTAssertEqual(
            try BinaryEncoder().encode(Item(id: 3, name: "n", score: 1)),
            try BinaryEncoder().encode(Item(id: 3, name: "n", score: 1)))
    }

    // MARK: Malformed input

    func testEveryTruncationThrows() throws {
        let bytes = try BinaryEncoder().encode(Everything())
        for length in 0..<bytes.count {
            XCTAssertNotNil(
                decodeError(Everything.self, Array(bytes[..<length])), "a prefix of \(length) bytes decoded")
        }
        XCTAssertEqual(decodeError(Int.self, [Tag.int64, 1, 2]), .truncated(type: "Int", offset: 0, path: "Int"))
        XCTAssertEqual(decodeError(Int.self, []), .truncated(type: "Int", offset: 0, path: "Int"))
    }

    func testWrongTypeNamesTheTypeAndTheOffset() throws {
        let bytes = try BinaryEncoder().encode(Item(id: 1, name: "x", score: 2))
        let error = try XCTUnwrap(decodeError(OtherItem.self, bytes))
        // The first field's value starts after the container header (5) and the key "id" (3).
        XCTAssertEqual(error, .typeMismatch(type: "String", offset: 8, path: "OtherItem.id", found: "Int64"))
        XCTAssertEqual(
            decodeError(String.self, try BinaryEncoder().encode(5)),
            .typeMismatch(type: "String", offset: 0, path: "String", found: "Int64"))
        XCTAssertEqual(
            decodeError(Int32.self, try BinaryEncoder().encode(5)),
            .typeMismatch(type: "Int32", offset: 0, path: "Int32", found: "Int64"))
        XCTAssertEqual(
            decodeError(Item.self, try BinaryEncoder().encode([1, 2])),
            .typeMismatch(type: "Item", offset: 0, path: "Item", found: "packed array of Int64"))
        XCTAssertEqual(
            decodeError([Int].self, try BinaryEncoder().encode([1.5])),
            .typeMismatch(type: "Array<Int>", offset: 0, path: "Array<Int>", found: "packed array of Double"))
        XCTAssertEqual(
            decodeError(Int.self, try BinaryEncoder().encode(Int?.none)),
            .typeMismatch(type: "Int", offset: 0, path: "Int", found: "nil"))
        let message = String(describing: error)
        XCTAssertTrue(
            message.contains("String") && message.contains("byte 8") && message.contains("OtherItem.id"), message)
    }

    func testAbsurdLengthsThrowWithoutAllocating() {
        // A string, a byte array and a container that each claim far more bytes than there are.
        let hugeString: [UInt8] = [Tag.string, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 65]
        XCTAssertEqual(
            decodeError(String.self, hugeString),
            .lengthOutOfRange(type: "String", offset: 0, path: "String", length: UInt64(Int64.max), remaining: 1))
        let hugeBytes: [UInt8] = [Tag.packed, Tag.uint8] + [UInt8](repeating: 0x80, count: 9) + [0x01]
        XCTAssertEqual(
            decodeError([UInt8].self, hugeBytes),
            .lengthOutOfRange(type: "Array<UInt8>", offset: 0, path: "Array<UInt8>", length: 1 << 63, remaining: 0))
        let hugeDoubles: [UInt8] = [Tag.packed, Tag.double, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        if case .lengthOutOfRange(_, _, _, let length, _)? = decodeError([Double].self, hugeDoubles) {
            XCTAssertEqual(length, .max, "the byte count overflows and is reported as UInt64.max")
        } else {
            XCTFail("expected lengthOutOfRange")
        }
        let hugeContainer: [UInt8] = [Tag.keyed, 0xFF, 0xFF, 0xFF, 0xFF]
        XCTAssertEqual(
            decodeError(Item.self, hugeContainer),
            .lengthOutOfRange(type: "Item", offset: 0, path: "Item", length: UInt64(UInt32.max), remaining: 0))
        let hugeArray: [UInt8] = [Tag.unkeyed, 0, 0, 0, 0x40, Tag.true]
        XCTAssertNotNil(decodeError([Bool].self, hugeArray))
    }

    func testTrailingBytesThrow() throws {
        let bytes = try BinaryEncoder().encode(Item(id: 1, name: "x", score: 2))
        XCTAssertEqual(
            decodeError(Item.self, bytes + [Tag.null]), .trailingBytes(type: "Item", offset: bytes.count, count: 1))
        XCTAssertEqual(decodeError(Bool.self, [Tag.true, Tag.true]), .trailingBytes(type: "Bool", offset: 1, count: 1))
    }

    func testInvalidBytesThrow() throws {
        XCTAssertEqual(
            decodeError(Int.self, [0x00]),
            .invalidData(type: "Int", offset: 0, path: "Int", reason: "unknown tag 0x0"))
        XCTAssertEqual(
            decodeError(String.self, [Tag.string, 2, 0xC3, 0x28]),
            .invalidData(type: "String", offset: 0, path: "String", reason: "the bytes are not valid UTF-8"))
        XCTAssertEqual(
            decodeError(String.self, [Tag.string] + [UInt8](repeating: 0xFF, count: 9) + [0x02]),
            .invalidData(type: "String", offset: 10, path: "String", reason: "a varint overflows 64 bits"))
        XCTAssertNotNil(decodeError([UInt8].self, [Tag.packed, 0x77, 0]))
    }

    func testMissingKeyAndRejectedValueThrow() throws {
        struct Partial: Codable { var id: Int }
        let bytes = try BinaryEncoder().encode(Partial(id: 1))
        XCTAssertEqual(decodeError(Item.self, bytes), .keyNotFound(type: "Item", offset: 5, path: "Item", key: "name"))
        let purple = try BinaryEncoder().encode("purple")
        guard case .rejected(let type, 0, "Color", let reason)? = decodeError(Color.self, purple) else {
            return XCTFail("expected a rejected error")
        }
        XCTAssertEqual(type, "Color")
        XCTAssertTrue(reason.contains("purple"), reason)
    }

    func testNestingDeeperThanTheLimitThrowsInsteadOfOverflowingTheStack() throws {
        XCTAssertNoThrow(try BinaryEncoder().encode(deepNode(60)))
        guard case .unencodable? = encodeError(deepNode(1_000)) else {
            return XCTFail("encoding 1 000 levels should fail")
        }
        let deep = try BinaryEncoder(maxDepth: 1_000).encode(deepNode(300))
        guard case .tooDeep(_, _, _, let limit)? = decodeError(Node.self, deep) else {
            return XCTFail("decoding 300 levels should fail")
        }
        XCTAssertEqual(limit, BinaryDecoder.defaultMaxDepth)
        // A hostile input of 100 000 nested nodes, written by hand, is refused just the same.
        let levels = 100_000
        var hostile: [UInt8] = []
        hostile.reserveCapacity(16 * levels)
        func length(_ value: Int) -> [UInt8] { withUnsafeBytes(of: UInt32(value).littleEndian, Array.init) }
        for level in 0..<levels {
            let size = 16 * (levels - level)  // this node's bytes: headers, key, and the nodes inside
            hostile += [Tag.keyed] + length(size - 5) + [5] + Array("child".utf8) + [Tag.unkeyed] + length(size - 16)
        }
        XCTAssertEqual(hostile.count, 16 * levels)
        guard case .tooDeep? = decodeError(Node.self, hostile) else { return XCTFail("expected tooDeep") }
    }

    func testContainersUsedOutOfOrderAreAnEncodingError() {
        struct Misuse: Encodable {
            enum Keys: CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var outer = encoder.container(keyedBy: Keys.self)
                var inner = outer.nestedUnkeyedContainer(forKey: .a)
                try inner.encode(1)
                try outer.encode(2, forKey: .b)
                try inner.encode(3)  // inner was finished when outer moved on
            }
        }
        guard case .unencodable(let type, _, let reason)? = encodeError(Misuse()) else {
            return XCTFail("expected unencodable")
        }
        XCTAssertEqual(type, "Misuse")
        XCTAssertTrue(reason.contains("nested order"), reason)
    }

    /// Mutates valid encodings at random: every result either decodes or throws a CodecError;
    /// nothing crashes, hangs or allocates wildly. The seed is printed first, so that a crash can be
    /// replayed with MP_CODEC_SEED=<seed>.
    func testRandomlyMutatedEncodingsNeverCrash() throws {
        let seed = Sys.environment("MP_CODEC_SEED").flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("testRandomlyMutatedEncodingsNeverCrash: seed \(seed) (replay with MP_CODEC_SEED=\(seed))")
        var random = SplitMix64(seed: seed)
        let samples: [[UInt8]] = try [
            BinaryEncoder().encode(Everything()),
            BinaryEncoder().encode(Item(id: 1, name: "name", score: 0.5)),
            BinaryEncoder().encode([Shape.circle(radius: 1), .labelled("a", 2)]),
            BinaryEncoder().encode(["a": [1, 2], "b": []]),
        ]
        var decoded = 0
        var failed = 0
        for iteration in 0..<20_000 {
            let sample = samples[iteration % samples.count]
            let mutated = mutate(sample, &random)
            let outcomes: [Bool] = [
                attempt(Everything.self, mutated), attempt(Item.self, mutated),
                attempt([Shape].self, mutated), attempt([String: [Int]].self, mutated),
            ]
            decoded += outcomes.filter { $0 }.count
            failed += outcomes.filter { !$0 }.count
        }
        XCTAssertGreaterThan(failed, 0, "seed \(seed)")
        XCTAssertGreaterThan(decoded, 0, "seed \(seed): some mutations (e.g. a changed digit) must still decode")
    }

    /// Decodes; a success must encode again. True when it decoded.
    private func attempt<T: Codable>(_ type: T.Type, _ bytes: [UInt8]) -> Bool {
        do {
            let value = try BinaryDecoder().decode(T.self, from: bytes)
            XCTAssertNoThrow(try BinaryEncoder().encode(value))
            return true
        } catch {
            XCTAssertFalse(error.description.isEmpty)
            return false
        }
    }

    private func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int(random.next() % 3) + 1 {
            let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
            switch random.next() % 7 {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= UInt8(1 << (random.next() % 8))
            case 1 where !bytes.isEmpty:
                bytes[position] = UInt8(truncatingIfNeeded: random.next())
            case 2:
                bytes.removeSubrange(position...)
            case 3:
                bytes.insert(
                    contentsOf: (0..<Int(random.next() % 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) },
                    at: position)
            case 4 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int(random.next() % 16) + 1))
            case 5 where bytes.count >= position + 4:
                // A length field made absurd.
                let huge: [UInt8] = [[0xFF, 0xFF, 0xFF, 0xFF], [0xFF, 0xFF, 0xFF, 0x7F], [0, 0, 0, 0x80]][
                    Int(random.next() % 3)]
                bytes.replaceSubrange(position..<position + 4, with: huge)
            default:
                let tags: [UInt8] = [
                    Tag.null, Tag.some, Tag.int64, Tag.string, Tag.packed, Tag.keyed, Tag.unkeyed, 0xEE,
                ]
                if !bytes.isEmpty { bytes[position] = tags[Int(random.next() % UInt64(tags.count))] }
            }
        }
        return bytes
    }
}
