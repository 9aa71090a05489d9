import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

// Large frames: a `[UInt8]` message or raw bytes of 16 KiB or more is sent from the array's own
// memory and read straight into the destination. These tests check that the shortcut keeps the
// wire format and every guarantee of the ordinary path.

/// Writes all of `bytes` to a descriptor, bypassing the framing (to forge partial or lying frames).
private func writeRaw(_ bytes: [UInt8], to fd: Int32) {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written > 0 { offset += written } else if written < 0 && errno != EINTR && errno != EAGAIN { return }
        }
    }
}

private func header(_ length: Int) -> [UInt8] {
    withUnsafeBytes(of: UInt32(length).littleEndian, Array.init)
}

final class ConnectionLargeFrameTests: XCTestCase {
    func testALargeArrayGoesOnTheWireAsTheEncoderWritesIt() throws {
        for duplex in [false, true] {
            let (receiver, sender) = try Connection<[UInt8]>.makePipe(duplex: duplex)
            let big = pattern(count: 300_000, seed: 3)
            let thread = TestThread { try? sender.send(big) }
            XCTAssertEqual(try receiver.receiveBytes(), try BinaryEncoder().encode(big), "duplex: \(duplex)")
            thread.join()
            // And the encoder's bytes, sent raw, are received as the array.
            let encoded = try BinaryEncoder().encode(big)
            let raw = TestThread { try? sender.sendBytes(encoded) }
            XCTAssertEqual(try receiver.receive(), big)
            raw.join()
        }
    }

    func testMessagesOfEverySizeAroundTheShortcutKeepTheirBoundaries() throws {
        let (receiver, sender) = try Connection<[UInt8]>.makePipe(duplex: false)
        let sizes = [0, 1, 16 << 10 - 13, 16 << 10 - 12, 16 << 10, 64 << 10, 64 << 10 + 5, 100, 1 << 20, 3]
        let thread = TestThread {
            for (index, size) in sizes.enumerated() {
                try? sender.send(pattern(count: size, seed: index))
                try? sender.sendBytes(pattern(count: size, seed: index + 100))
            }
        }
        for (index, size) in sizes.enumerated() {
            XCTAssertEqual(try receiver.receive(), pattern(count: size, seed: index), "message of \(size) bytes")
            XCTAssertEqual(try receiver.receiveBytes(), pattern(count: size, seed: index + 100), "\(size) raw bytes")
        }
        thread.join()
    }

    func testALargeFrameCutShortIsTruncatedEveryTime() throws {
        let (reader, writer) = try Connection<[UInt8]>.makePipe(duplex: false)
        writeRaw(header(100_000) + [UInt8](repeating: 7, count: 20_000), to: writer.fd)
        writer.close()
        for _ in 0..<2 {
            assertThrows(.truncated(expected: 100_004, received: 20_004)) { () throws(ConnectionError) in
                try reader.receiveBytes()
            }
        }
        // The same for a `[UInt8]` message, whose body starts after the codec's header.
        let (reader2, writer2) = try Connection<[UInt8]>.makePipe(duplex: true)
        let encoded = try BinaryEncoder().encode([UInt8](repeating: 9, count: 100_000))
        writeRaw(header(encoded.count) + encoded[0..<30_000], to: writer2.fd)
        writer2.close()
        for _ in 0..<2 {
            assertThrows(.truncated(expected: 4 + encoded.count, received: 30_004)) { () throws(ConnectionError) in
                try reader2.receive()
            }
        }
    }

    func testALargeFrameThatLiesAboutItsArrayIsUndecodableAndTheNextOneArrives() throws {
        let (a, b) = try Connection<[UInt8]>.makePipe(duplex: true)
        // The codec's header for 50,000 bytes in a frame of 40,000: the decoder's error, not a crash.
        var body: [UInt8] = [0x29, 0x18, 0xD0, 0x86, 0x03]
        body += [UInt8](repeating: 1, count: 40_000 - body.count)
        writeRaw(header(body.count) + body, to: a.fd)
        XCTAssertThrowsError(try b.receive()) { error in
            guard case .undecodable = error as? ConnectionError else { return XCTFail("\(error)") }
        }
        try a.send([1, 2, 3])
        XCTAssertEqual(try b.receive(), [1, 2, 3])
    }

    func testATooShortBufferKeepsALargeMessage() throws {
        let (receiver, sender) = try Connection<[UInt8]>.makePipe(duplex: false)
        let big = pattern(count: 200_000, seed: 5)
        let thread = TestThread { try? sender.sendBytes(big) }
        var small = [UInt8](repeating: 0, count: 100_000)
        assertThrows(.bufferTooShort(size: 200_000, capacity: 100_000)) { () throws(ConnectionError) in
            try receiver.receiveBytes(into: &small)
        }
        var large = [UInt8](repeating: 0xEE, count: 250_000)
        XCTAssertEqual(try receiver.receiveBytes(into: &large, offset: 10), 200_000)
        XCTAssertEqual(Array(large[10..<200_010]), big)
        XCTAssertEqual(large[0..<10].allSatisfy { $0 == 0xEE } && large[200_010...].allSatisfy { $0 == 0xEE }, true)
        thread.join()
    }

    func testCloseWakesAThreadBlockedInTheMiddleOfALargeFrame() throws {
        let (a, b) = try Connection<[UInt8]>.makePipe(duplex: false)
        writeRaw(header(1 << 20) + [UInt8](repeating: 7, count: 1000), to: b.fd)
        let outcome = Mutex<ConnectionError?>(nil)
        let thread = TestThread {
            do throws(ConnectionError) {
                _ = try a.receiveBytes()
            } catch {
                outcome.withLock { $0 = error }
            }
        }
        // Wait until the receiver has taken the buffered start of the frame (it then waits for the rest).
        let deadline = ContinuousClock.now + .seconds(30)
        while (try? a.poll()) == true && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
        a.close()
        thread.join()
        XCTAssertEqual(outcome.withLock { $0 }, .closed)
        b.close()
    }
}

final class ConnectionPipeGrowthTests: XCTestCase {
    func testAMessageOverAQuarterMebibyteGrowsAOneWayPipeOnce() throws {
        // Skipped where the kernel refuses a 1 MiB pipe to this user (a lower pipe-max-size, or the quota used up).
        var probe: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&probe), 0)
        let allowed = fcntl(probe[1], 1031, Int32(1 << 20)) >= 1 << 20  // F_SETPIPE_SZ
        close(probe[0])
        close(probe[1])
        try XCTSkipUnless(allowed, "this user may not have a 1 MiB pipe here")

        let (receiver, sender) = try Connection<[UInt8]>.makePipe(duplex: false)
        let pipeSize = { fcntl(sender.fd, 1032) }  // F_GETPIPE_SZ
        let before = pipeSize()
        let thread = TestThread {
            try? sender.send(pattern(count: 200 << 10, seed: 1))
            try? sender.send(pattern(count: 300 << 10, seed: 2))
        }
        XCTAssertEqual(try receiver.receive(), pattern(count: 200 << 10, seed: 1))
        XCTAssertEqual(try receiver.receive(), pattern(count: 300 << 10, seed: 2))
        thread.join()
        XCTAssertEqual(before, 64 << 10)
        XCTAssertEqual(pipeSize(), 1 << 20, "grown by the message over 256 KiB")
    }
}
