import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing
@testable import MultiprocessingCodec

/// Large byte arrays in a pool: inputs sent from their own memory (attachments), outputs decoded
/// by the waiting caller (MapReceiver), and inputs that cannot be encoded.
final class PoolBytesTests: XCTestCase {
    struct Record: Codable, Equatable, Sendable {
        var name: String
        var blobs: [[UInt8]]
        var small: [UInt8]
        var tail: Int
    }

    /// Blobs on both sides of the attachment threshold (16 KiB), and empty ones.
    static func record(_ index: Int) -> Record {
        let sizes = [0, 16_383, 16_384, 70_000 + index % 5]
        return Record(
            name: "record \(index)",
            blobs: sizes.map { size in (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) } },
            small: [UInt8(index % 256)], tail: index)
    }

    func testAttachedArraysEncodeToTheSameBytesOnceSplicedIn() throws {
        let value = (0..<3).map(Self.record)
        let plain = EncoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
        try plain.encode(value)
        let attaching = EncoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)
        attaching.attachmentThreshold = OutgoingFrame.attachmentThreshold
        for _ in 0..<2 {  // a second encode starts again from no attachments
            attaching.buffer.count = 0
            try attaching.encode(value)
            XCTAssertEqual(attaching.attachments.count, 6, "the blobs of 16 KiB and more")
            var spliced: [UInt8] = []
            var cut = 0
            for attachment in attaching.attachments {
                spliced += attaching.buffer.bytes[cut..<attachment.offset]
                spliced += attachment.bytes
                cut = attachment.offset
            }
            spliced += attaching.buffer.bytes[cut...]
            XCTAssertEqual(spliced.count, attaching.buffer.count + attaching.attachedBytes)
            // Not XCTAssertEqual: its message would print half a megabyte.
            XCTAssertTrue(spliced == Array(plain.buffer.bytes), "the spliced bytes differ from the plain encoding")
        }
    }

    func testLargeByteArraysRoundTripThroughEveryCall() throws {
        let pool = try Pool(processes: 2) { (record: Record) -> Record in record }
        let inputs = (0..<40).map(Self.record)
        XCTAssertEqual(try pool.apply(inputs[7]), inputs[7])
        XCTAssertEqual(try pool.map(inputs), inputs)
        XCTAssertEqual(try pool.map(inputs, chunkSize: 1), inputs)
        XCTAssertEqual(try pool.mapAsync(inputs, chunkSize: 3).get(timeout: .seconds(60)), inputs)
        XCTAssertEqual(try pool.imap(inputs).map { try $0.get() }, inputs)
        XCTAssertEqual(try pool.imap(inputs, chunkSize: 4).map { try $0.get() }, inputs)
        let unordered = try pool.imapUnordered(inputs, chunkSize: 2).map { try $0.get() }
        XCTAssertEqual(unordered.sorted { $0.tail < $1.tail }, inputs)
        pool.close()
        try pool.join()
    }

    func testAMapOfLargeOutputsThrowsTheFirstFailureInInputOrder() throws {
        struct Refused: Error { let index: Int }
        let pool = try Pool(processes: 2) { (index: Int) -> [UInt8] in
            if index == 37 || index == 90 { throw Refused(index: index) }
            return [UInt8](repeating: UInt8(index % 256), count: 100_000)
        }
        XCTAssertThrowsError(try pool.map(0..<120, chunkSize: 3)) { error in
            guard case PoolError.taskFailed(_, _, let type, let description) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(type, "Refused")
            XCTAssertEqual(description, "Refused(index: 37)")
        }
        let outputs = try pool.map(91..<120, chunkSize: 3)
        XCTAssertEqual(outputs, (91..<120).map { [UInt8](repeating: UInt8($0 % 256), count: 100_000) })
        pool.close()
        try pool.join()
    }

    /// An input whose encoding throws for one index.
    struct Fussy: Codable, Sendable {
        struct Refused: Error {}
        let index: Int
        var bad = -1

        init(_ index: Int, bad: Int) {
            self.index = index
            self.bad = bad
        }

        init(from decoder: any Decoder) throws {
            index = try decoder.singleValueContainer().decode(Int.self)
        }

        func encode(to encoder: any Encoder) throws {
            if index == bad { throw Refused() }
            var container = encoder.singleValueContainer()
            try container.encode(index)
        }
    }

    func testALateUnencodableInputThrowsQueuesNothingAndThePoolStaysUsable() throws {
        let ran = try SharedValue<Int>(0)
        let pool = try Pool(processes: 2) { (input: Fussy) -> Int in
            ran.withLock { $0 += 1 }
            return input.index * 2
        }
        let inputs = (0..<1_000).map { Fussy($0, bad: 900) }
        let calls: [(String, () throws -> Void)] = [
            ("map", { _ = try pool.map(inputs) }),
            ("map chunk 1", { _ = try pool.map(inputs, chunkSize: 1) }),
            ("mapAsync", { _ = try pool.mapAsync(inputs) }),
            ("imap", { _ = try pool.imap(inputs) }),
            ("imap chunk 8", { _ = try pool.imap(inputs, chunkSize: 8) }),
            ("imapUnordered", { _ = try pool.imapUnordered(inputs) }),
        ]
        for (name, call) in calls {
            XCTAssertThrowsError(try call(), name) { error in
                guard case PoolError.unencodableInput = error else { return XCTFail("\(name): \(error)") }
            }
        }
        let good = (0..<200).map { Fussy($0, bad: -1) }
        XCTAssertEqual(try pool.map(good), (0..<200).map { $0 * 2 }, "the pool works after")
        XCTAssertEqual(try pool.imap(good).map { try $0.get() }, (0..<200).map { $0 * 2 })
        XCTAssertEqual(ran.value, 400, "the failed calls queued nothing")
        pool.close()
        try pool.join()
    }
}
