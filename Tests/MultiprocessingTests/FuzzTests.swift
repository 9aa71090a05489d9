import Glibc
import XCTest

@testable import Multiprocessing
@testable import MultiprocessingCodec

// The same shapes as the libFuzzer target (Sources/CodecFuzzer/main.swift), for the committed corpus.
private struct Record: Codable {
    var id: Int
    var name: String
    var scores: [Double]
    var tags: [String: Int]
    var parent: Int?
    var flag: Bool
}

private indirect enum FuzzShape: Codable {
    case circle(radius: Double)
    case polygon([Int8])
    case named(String, FuzzShape?)
    case group([FuzzShape])
}

/// The deterministic side of fuzzing, inside the test command: the committed corpus replayed, and a
/// seeded mutation harness over the codec decoder and the frame reader, run in a child whose address
/// space is capped, so that an allocation beyond the inputs' bound is a failure, not just slowness.
/// `make fuzz` runs the libFuzzer target for longer.
final class FuzzTests: XCTestCase {
    private static let corpus: String = {
        var path = "\(#filePath)"
        for _ in 0..<3 { path = String(path[..<path.lastIndex(of: "/")!]) }  // the package root
        return path + "/Sources/CodecFuzzer/corpus"
    }()

    /// Tries the bytes as several types and as a stream of frames; true when anything decoded.
    private static func exercise(_ bytes: [UInt8]) -> Bool {
        var decoded = false
        if (try? BinaryDecoder().decode(Record.self, from: bytes)) != nil { decoded = true }
        if (try? BinaryDecoder().decode(FuzzShape.self, from: bytes)) != nil { decoded = true }
        if (try? BinaryDecoder().decode([String: [Int]].self, from: bytes)) != nil { decoded = true }
        if (try? BinaryDecoder().decode([Record?].self, from: bytes)) != nil { decoded = true }
        let framed = cutFrames(bytes)
        return readFrames(bytes) > 0 || framed || decoded
    }

    /// Cuts the bytes into frames with a FrameBuffer directly (as `make fuzz` does), fed in reads of
    /// growing sizes; true when a frame decoded. Never holds more than twice the bytes fed.
    private static func cutFrames(_ bytes: [UInt8]) -> Bool {
        let frames = FrameBuffer(chunk: 1 << 10, initialCapacity: 16)
        var offset = 0
        var step = 1
        var decoded = false
        while true {
            switch frames.next(maxLength: 1 << 16) {
            case .frame(let frame):
                if (try? BinaryDecoder().decode(Record.self, from: frame)) != nil { decoded = true }
                frames.releaseGrowth()
            case .tooLarge:
                return decoded
            case .needs(let needed):
                guard offset < bytes.count else { return decoded }
                let space = frames.space(forFrameOf: needed)
                let count = min(space.count, bytes.count - offset, step)
                bytes.withUnsafeBytes {
                    space.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count)
                }
                frames.didRead(count)
                offset += count
                precondition(frames.capacity <= max(1 << 10, 2 * frames.buffered), "grew past the bytes read")
                step = step % 4096 * 3 + 1
            }
        }
    }

    /// Writes the bytes into a socket and receives until an error other than an undecodable message.
    /// Returns how many messages decoded. Every outcome must be a typed ConnectionError.
    private static func readFrames(_ bytes: [UInt8]) -> Int {
        guard let (reader, writer) = try? Connection<Record>.makePipe(duplex: true, maxMessageSize: 1 << 16) else {
            return -1
        }
        defer { reader.close() }
        var offset = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let written = write(writer.fd, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        writer.close()
        var messages = 0
        for _ in 0..<10_000 {
            do throws(ConnectionError) {
                _ = try reader.receive()
                messages += 1
            } catch {
                guard case .undecodable = error else { break }
            }
        }
        return messages
    }

    func testTheCommittedCorpusDecodesOrThrows() throws {
        guard let directory = opendir(Self.corpus) else { return XCTFail("no corpus at \(Self.corpus)") }
        defer { closedir(directory) }
        var files = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix(".") { continue }
            let fd = open(Self.corpus + "/" + name, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            let bytes = try Sys.readToEnd(fd)
            Sys.close(fd)
            _ = Self.exercise(bytes)
            files += 1
        }
        XCTAssertGreaterThan(files, 5)
    }

    /// Valid frame streams, mutated at random (bit flips, absurd lengths, cuts, splices): the reader
    /// and the decoder return values or typed errors; nothing crashes, hangs (the child is bounded),
    /// or allocates more than its capped address space allows. Replay with MP_FAULT_SEED.
    func testMutatedFrameStreamsNeverCrashHangOrOverAllocate() throws {
        var random = FaultRandom(#function)
        let seed = random.next()
        let iterations = underSanitizer ? 1_000 : 20_000
        let report = try ReportPipe()
        let child = ChildProcess {
            var random = SplitMix64(seed: seed)
            if !underSanitizer {
                // Cap the address space 256 MiB above what the child has mapped now: a frame header
                // or a length field believed (up to 4 GiB) would fail to allocate and crash the child.
                let pages = Self.mappedPages()
                var limit = rlimit(
                    rlim_cur: rlim_t(pages * 4096 + (256 << 20)), rlim_max: rlim_t(pages * 4096 + (256 << 20)))
                _ = setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
            }
            let samples: [[UInt8]] = try (0..<8).map { n in
                var stream: [UInt8] = []
                for m in 0..<(n + 1) {
                    let record = Record(
                        id: n * 10 + m, name: String(repeating: "n", count: m * 3), scores: [1.5, -2],
                        tags: ["a": n, "bb": m], parent: m.isMultiple(of: 2) ? nil : m, flag: true)
                    let body = try BinaryEncoder().encode(record)
                    withUnsafeBytes(of: UInt32(body.count).littleEndian) { stream += $0 }
                    stream += body
                }
                return stream
            }
            var decoded = 0
            for iteration in 0..<iterations {
                var bytes = samples[iteration % samples.count]
                for _ in 0...Int(random.next() % 4) {
                    let position = bytes.isEmpty ? 0 : Int(random.next() % UInt64(bytes.count))
                    switch random.next() % 6 {
                    case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << (random.next() % 8))
                    case 1 where !bytes.isEmpty: bytes[position] = UInt8(truncatingIfNeeded: random.next())
                    case 2: bytes.removeSubrange(position...)
                    case 3 where bytes.count >= position + 4:
                        let huge: [[UInt8]] = [
                            [0xFF, 0xFF, 0xFF, 0xFF], [0, 0, 1, 0], [0xFF, 0xFF, 0, 0], [0, 0, 0, 0x80],
                        ]
                        bytes.replaceSubrange(position..<position + 4, with: huge[Int(random.next() % 4)])
                    case 4:
                        let other = samples[Int(random.next() % UInt64(samples.count))]
                        bytes.insert(
                            contentsOf: other.prefix(Int(random.next() % UInt64(other.count + 1))), at: position)
                    default:
                        bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
                    }
                }
                if Self.exercise(bytes) { decoded += 1 }
            }
            report.write("\(iterations) \(decoded)\n")
        }
        let (_, waited) = try timed { () throws in
            try child.start()
            try child.join(timeout: .seconds(120))
        }
        let context = "inner seed \(seed): \(random.describe)"
        if child.isAlive {
            try child.kill()
            try child.join()
        }
        XCTAssertEqual(child.exitCode, 0, "crashed, or allocated beyond the cap: \(context)")
        let line = try report.readAll().split(separator: " ").compactMap {
            Int($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(line.first, iterations, context)
        XCTAssertGreaterThan(line.last ?? 0, 0, "some mutations must still decode: \(context)")
        XCTAssertLessThan(waited, Duration.seconds(120), context)
        print(
            "FUZZ mutation harness: \(iterations) mutated frame streams, \(line.last ?? 0) still decoded, in \(waited)")
    }

    /// Pages of address space this process has mapped (/proc/self/statm, first field).
    private static func mappedPages() -> Int {
        let fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        guard fd >= 0, let bytes = try? Sys.readToEnd(fd) else { return 1 << 20 }
        Sys.close(fd)
        return Int(String(decoding: bytes, as: UTF8.self).split(separator: " ").first ?? "") ?? 1 << 20
    }
}

/// The one reader of length-prefixed streams (Connection's and the pool's): the framing limits.
final class FrameBufferTests: XCTestCase {
    private func frame(_ body: [UInt8]) -> [UInt8] {
        withUnsafeBytes(of: UInt32(body.count).littleEndian) { Array($0) } + body
    }

    /// Feeds `bytes` through `read(_:)` in reads of at most `step` bytes.
    private func feed(_ frames: FrameBuffer, _ bytes: [UInt8], step: Int) -> [[UInt8]] {
        var offset = 0
        var out: [[UInt8]] = []
        while true {
            if case .frame(let body) = frames.next(maxLength: 1 << 20) {
                out.append(Array(body))
                continue
            }
            let result = frames.read { space -> Int? in
                let count = min(space.count, step, bytes.count - offset)
                bytes.withUnsafeBytes {
                    space.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count)
                }
                offset += count
                return count
            }
            if result == .endOfFile { return out }
        }
    }

    func testFramesSplitAcrossReadsComeOutWhole() {
        let bodies: [[UInt8]] = [[], [1], Array(repeating: 7, count: 300), [2, 3]]
        let stream = bodies.flatMap(frame)
        for step in [1, 3, 5, 64, 4096] {
            XCTAssertEqual(
                feed(FrameBuffer(chunk: 64, initialCapacity: 16), stream, step: step), bodies, "step \(step)")
        }
    }

    func testAHeaderClaimingTooMuchIsReportedNotAllocatedNorConsumed() {
        let frames = FrameBuffer(chunk: 64, initialCapacity: 16)
        let claim = [UInt8](repeating: 0xFF, count: 4)  // a length of 4 GiB - 1
        let space = frames.space(forFrameOf: 4)
        claim.withUnsafeBytes { space.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 4) }
        frames.didRead(4)
        guard case .tooLarge(let length) = frames.next(maxLength: 1 << 20) else { return XCTFail("not tooLarge") }
        XCTAssertEqual(length, Int(UInt32.max))
        XCTAssertEqual(frames.buffered, 4, "nothing consumed")
        // Without a maximum, the claim only asks for more: the buffer grows with arrived bytes only.
        XCTAssertEqual(frames.frontFrameSize, 4 + Int(UInt32.max))
        let more = frames.space(forFrameOf: frames.frontFrameSize)
        XCTAssertLessThanOrEqual(frames.capacity, 64, "grew to a header's claim")
        XCTAssertGreaterThan(more.count, 0)
    }

    func testGrowthForALargeFrameIsGivenBackOnceConsumed() {
        let frames = FrameBuffer(chunk: 64, initialCapacity: 16)
        let big = Array(repeating: UInt8(9), count: 1000)
        XCTAssertEqual(feed(frames, frame(big), step: 100), [big])
        XCTAssertEqual(frames.buffered, 0)
        XCTAssertLessThanOrEqual(frames.capacity, 64, "read(_:) gives back growth before its read")
        let eager = FrameBuffer(chunk: 64, initialCapacity: 16)
        var offset = 0
        let stream = frame(big)
        while offset < stream.count {
            let space = eager.space(forFrameOf: eager.frontFrameSize)
            let count = min(space.count, stream.count - offset)
            stream.withUnsafeBytes { space.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
            eager.didRead(count)
            offset += count
        }
        XCTAssertGreaterThanOrEqual(eager.capacity, 1004)
        guard case .frame(let body) = eager.next(maxLength: 1 << 20) else { return XCTFail("no frame") }
        XCTAssertEqual(Array(body), big)
        eager.releaseGrowth()
        XCTAssertEqual(eager.capacity, 64)
    }

    func testAnIncompleteFrameIsNeedsNotAFrame() {
        let frames = FrameBuffer(chunk: 64, initialCapacity: 16)
        let stream = frame([1, 2, 3, 4, 5])
        let space = frames.space(forFrameOf: 4)
        stream.withUnsafeBytes { space.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: 6) }
        frames.didRead(6)
        guard case .needs(let needed) = frames.next(maxLength: 100) else { return XCTFail("not needs") }
        XCTAssertEqual(needed, 9)
        XCTAssertEqual(frames.buffered, 6)
    }
}
