import Glibc
import XCTest

@testable import Multiprocessing

/// Sending part of a buffer (Python's `send_bytes(buf, offset, size)`) and receiving into a caller's
/// buffer (Python's `recv_bytes_into`), whose "buffer too short" error leaves the message in place.
final class ConnectionBufferTests: XCTestCase {
    // MARK: Sending part of a buffer

    func testSendBytesTakesSlicesRawMemoryViewsAndNonContiguousCollections() throws {
        let (a, b) = try Connection<Int>.makePipe()
        let bytes: [UInt8] = Array(0..<100)
        try a.sendBytes(bytes[10..<20])
        try bytes.withUnsafeBytes { raw in try a.sendBytes(raw[90...]) }
        try a.sendBytes("héllo".utf8)
        try a.sendBytes(ContiguousArray<UInt8>([7, 8]))
        try a.sendBytes(bytes[3..<6].reversed())  // not contiguous: copied first
        try a.sendBytes(bytes[50..<50])
        XCTAssertEqual(try b.receiveBytes(), Array(10..<20))
        XCTAssertEqual(try b.receiveBytes(), Array(90..<100))
        XCTAssertEqual(try b.receiveBytes(), Array("héllo".utf8))
        XCTAssertEqual(try b.receiveBytes(), [7, 8])
        XCTAssertEqual(try b.receiveBytes(), [5, 4, 3])
        XCTAssertEqual(try b.receiveBytes(), [])
        XCTAssertFalse(try b.poll())
    }

    func testSendBytesWithOffsetAndCountSendsThatRangeOnly() throws {
        let (a, b) = try Connection<Int>.makePipe()
        let bytes: [UInt8] = Array(0..<10)
        try a.sendBytes(bytes, offset: 0, count: 10)  // all of it
        try a.sendBytes(bytes, offset: 3, count: 4)  // the middle
        try a.sendBytes(bytes, offset: 7)  // the rest
        try a.sendBytes(bytes, offset: 10)  // the rest, from the end: empty
        try a.sendBytes(bytes, offset: 10, count: 0)  // zero bytes at the end
        try a.sendBytes(bytes, offset: 4, count: 0)  // zero bytes in the middle
        try a.sendBytes(bytes, offset: 9, count: 1)  // the last byte
        try a.sendBytes([UInt8](), offset: 0)  // an empty buffer
        // Offsets count from the collection's start, not its indices: a slice's indices start at 5.
        try a.sendBytes(bytes[5...], offset: 1, count: 2)
        try a.sendBytes(bytes.reversed(), offset: 1, count: 3)  // not contiguous
        for expected: [UInt8] in [Array(0..<10), [3, 4, 5, 6], [7, 8, 9], [], [], [], [9], [], [6, 7], [8, 7, 6]] {
            XCTAssertEqual(try b.receiveBytes(), expected)
        }
        XCTAssertFalse(try b.poll())
    }

    func testAnOutOfRangeOffsetOrCountIsATypedErrorAndSendsNothing() throws {
        let (a, b) = try Connection<Int>.makePipe()
        let bytes: [UInt8] = Array(0..<10)
        let cases: [(offset: Int, count: Int?, reported: Int)] = [
            (-1, 2, 2), (0, -1, -1), (11, nil, 0), (11, 0, 0), (5, 6, 6), (0, 11, 11), (10, 1, 1),
            (Int.max, 1, 1), (1, Int.max, Int.max),
        ]
        for (offset, count, reported) in cases {
            assertThrows(.outOfBounds(offset: offset, count: reported, bufferSize: 10)) { () throws(ConnectionError) in
                try a.sendBytes(bytes, offset: offset, count: count)
            }
        }
        assertThrows(.outOfBounds(offset: 1, count: 0, bufferSize: 0)) { () throws(ConnectionError) in
            try a.sendBytes([UInt8](), offset: 1)
        }
        XCTAssertFalse(try b.poll(), "nothing was sent")
        XCTAssertEqual(
            ConnectionError.outOfBounds(offset: 5, count: 6, bufferSize: 10).description,
            "6 bytes at offset 5 are not within a buffer of 10 bytes")
        // The range is checked before anything else, and a valid range on a wrong end is still refused.
        let (reader, _) = try Connection<Int>.makePipe(duplex: false)
        assertThrows(.wrongDirection(.send)) { () throws(ConnectionError) in try reader.sendBytes(bytes, offset: 2) }
        a.close()
        assertThrows(.closed) { () throws(ConnectionError) in try a.sendBytes(bytes, offset: 2, count: 3) }
    }

    func testTheRangeMustFitTheMaximumMessageSize() throws {
        let (a, b) = try Connection<Int>.makePipe(maxMessageSize: 4)
        let bytes: [UInt8] = Array(0..<10)
        assertThrows(.messageTooLarge(size: 5, maximum: 4)) { () throws(ConnectionError) in
            try a.sendBytes(bytes, offset: 5)
        }
        try a.sendBytes(bytes, offset: 6)
        XCTAssertEqual(try b.receiveBytes(), [6, 7, 8, 9])
    }

    // MARK: Receiving into a caller's buffer

    func testReceiveIntoRawMemoryReturnsTheSizeAndLeavesTheRestAlone() throws {
        let (a, b) = try Connection<Int>.makePipe()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xEE)
        try a.sendBytes([1, 2, 3])
        try a.sendBytes(Array(10..<18))  // exactly the buffer's size
        try a.sendBytes([])
        try a.sendBytes([])
        XCTAssertEqual(try b.receiveBytes(into: buffer), 3)
        XCTAssertEqual(Array(buffer), [1, 2, 3, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE])
        XCTAssertEqual(try b.receiveBytes(into: buffer), 8)
        XCTAssertEqual(Array(buffer), Array(10..<18))
        XCTAssertEqual(try b.receiveBytes(into: buffer), 0)
        XCTAssertEqual(Array(buffer), Array(10..<18), "an empty message writes nothing")
        XCTAssertEqual(try b.receiveBytes(into: UnsafeMutableRawBufferPointer(start: nil, count: 0)), 0)
        XCTAssertFalse(try b.poll())
    }

    func testReceiveIntoAnArrayAtAnOffset() throws {
        let (a, b) = try Connection<Int>.makePipe()
        var buffer = [UInt8](repeating: 0xEE, count: 8)
        try a.sendBytes([1, 2, 3])
        try a.sendBytes([4, 5, 6])
        try a.sendBytes([7, 8])
        try a.sendBytes([])
        XCTAssertEqual(try b.receiveBytes(into: &buffer), 3)
        XCTAssertEqual(buffer, [1, 2, 3, 0xEE, 0xEE, 0xEE, 0xEE, 0xEE])
        XCTAssertEqual(try b.receiveBytes(into: &buffer, offset: 3), 3)
        XCTAssertEqual(try b.receiveBytes(into: &buffer, offset: 6), 2, "the end of the buffer, exactly")
        XCTAssertEqual(buffer, [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(try b.receiveBytes(into: &buffer, offset: 8), 0, "an empty message at the very end")
        XCTAssertEqual(buffer.count, 8, "never resized")

        // A copy shares the array's storage: receiving into one leaves the other as it was.
        try a.sendBytes([9])
        let copy = buffer
        XCTAssertEqual(try b.receiveBytes(into: &buffer, offset: 7), 1)
        XCTAssertEqual(buffer, [1, 2, 3, 4, 5, 6, 7, 9])
        XCTAssertEqual(copy, [1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testAnOffsetOutsideTheArrayIsATypedErrorAndTakesNothing() throws {
        let (a, b) = try Connection<Int>.makePipe()
        var buffer = [UInt8](repeating: 0, count: 4)
        try a.sendBytes([1])
        assertThrows(.outOfBounds(offset: -1, count: 0, bufferSize: 4)) { () throws(ConnectionError) in
            try b.receiveBytes(into: &buffer, offset: -1)
        }
        assertThrows(.outOfBounds(offset: 5, count: 0, bufferSize: 4)) { () throws(ConnectionError) in
            try b.receiveBytes(into: &buffer, offset: 5)
        }
        XCTAssertEqual(buffer, [0, 0, 0, 0])
        XCTAssertEqual(try b.receiveBytes(), [1], "the message is still there")
    }

    /// Python's `recv_bytes_into` takes the message and hands it over in `BufferTooShort`; here the
    /// message stays next, whole, for whichever receive comes next.
    func testATooShortBufferLosesNoMessage() throws {
        let (a, b) = try Connection<[Int]>.makePipe()
        try a.sendBytes(pattern(count: 100, seed: 1))
        try a.send([1, 2, 3])
        var small = [UInt8](repeating: 0xEE, count: 10)
        assertThrows(.bufferTooShort(size: 100, capacity: 10)) { () throws(ConnectionError) in
            try b.receiveBytes(into: &small)
        }
        assertThrows(.bufferTooShort(size: 100, capacity: 6)) { () throws(ConnectionError) in
            try b.receiveBytes(into: &small, offset: 4)
        }
        XCTAssertEqual(small, [UInt8](repeating: 0xEE, count: 10), "nothing was written")
        XCTAssertTrue(try b.poll(), "the message is still waiting")
        var large = [UInt8](repeating: 0, count: 120)
        XCTAssertEqual(try b.receiveBytes(into: &large, offset: 20), 100)
        XCTAssertEqual(Array(large[20..<120]), pattern(count: 100, seed: 1))
        XCTAssertEqual(try b.receive(), [1, 2, 3], "the next message follows")

        // Too short, then received by the other kinds of receive.
        try a.sendBytes(pattern(count: 11, seed: 2))
        let encoded = try BinaryEncoder().encode([4, 5])
        try a.send([4, 5])
        assertThrows(.bufferTooShort(size: 11, capacity: 10)) { () throws(ConnectionError) in
            try b.receiveBytes(into: &small)
        }
        XCTAssertEqual(try b.receiveBytes(), pattern(count: 11, seed: 2))
        assertThrows(.bufferTooShort(size: encoded.count, capacity: 1)) { () throws(ConnectionError) in
            try b.receiveBytes(into: &small, offset: 9)
        }
        XCTAssertEqual(try b.receive(), [4, 5])
        XCTAssertFalse(try b.poll())
        XCTAssertEqual(
            ConnectionError.bufferTooShort(size: 100, capacity: 10).description,
            "a message of 100 bytes does not fit in 10 bytes; it is still the next message")
    }

    /// The size is known from the frame's length: the error comes without waiting for the rest, and
    /// the bytes that did arrive stay for the next receive.
    func testATooShortBufferIsReportedFromTheLengthAlone() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        let message = pattern(count: 1000, seed: 3)
        let frame = withUnsafeBytes(of: UInt32(1000).littleEndian, Array.init) + message
        write(writer.fd, frame, 4 + 300).expect(4 + 300)
        var buffer = [UInt8](repeating: 0, count: 999)
        // Were the receive to wait for the rest, this closes the reader after 60 s: a failure, not a hang.
        let answered = try Event()
        let watchdog = TestThread { if !answered.wait(timeout: .seconds(60)) { reader.close() } }
        assertThrows(.bufferTooShort(size: 1000, capacity: 999)) { () throws(ConnectionError) in
            try reader.receiveBytes(into: &buffer)
        }
        answered.set()
        watchdog.join()
        frame[304...].withUnsafeBytes { write(writer.fd, $0.baseAddress, $0.count).expect(frame.count - 304) }
        XCTAssertEqual(try reader.receiveBytes(), message)
    }

    func testAFrameOverTheMaximumIsStillMessageTooLarge() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false, maxMessageSize: 64)
        write(writer.fd, withUnsafeBytes(of: UInt32(1 << 30).littleEndian, Array.init), 4).expect(4)
        var buffer = [UInt8](repeating: 0, count: 8)
        assertThrows(.messageTooLarge(size: 1 << 30, maximum: 64)) { () throws(ConnectionError) in
            try reader.receiveBytes(into: &buffer)
        }
    }

    func testReceiveIntoRefusesTheWrongEndAndAClosedOne() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        var buffer = [UInt8](repeating: 0, count: 8)
        assertThrows(.wrongDirection(.receive)) { () throws(ConnectionError) in
            try writer.receiveBytes(into: &buffer)
        }
        writer.close()
        assertThrows(.endOfFile) { () throws(ConnectionError) in try reader.receiveBytes(into: &buffer) }
        reader.close()
        assertThrows(.closed) { () throws(ConnectionError) in try reader.receiveBytes(into: &buffer) }
    }

    // MARK: Big messages across a fork

    /// 16 MiB each way, for both kinds of pipe: the child receives into its buffer after a
    /// too-short try, and sends a range of it back; the parent does the same.
    func testSixteenMebibytesIntoBigBuffersAcrossAFork() throws {
        let size = 16 << 20
        for duplex in [true, false] {
            let (parentReceives, childSends) = try Connection<Int>.makePipe(duplex: duplex)
            let (childReceives, parentSends) = try Connection<Int>.makePipe(duplex: duplex)
            let child = ChildProcess {
                parentReceives.close()
                parentSends.close()
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 64, alignment: 16)
                defer { buffer.deallocate() }
                do throws(ConnectionError) {
                    _ = try childReceives.receiveBytes(
                        into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<(size - 1)]))
                    exitProcess(2)  // it fitted in a buffer one byte short
                } catch {
                    guard error == .bufferTooShort(size: size, capacity: size - 1) else { exitProcess(4) }
                }
                let count = try childReceives.receiveBytes(into: UnsafeMutableRawBufferPointer(rebasing: buffer[64...]))
                guard count == size else { exitProcess(3) }
                // Echo it back from the middle of the buffer: offset 64.
                try childSends.sendBytes(UnsafeRawBufferPointer(buffer), offset: 64, count: size)
            }
            try child.start()
            childSends.close()
            childReceives.close()
            var outgoing = [UInt8](repeating: 0, count: 32) + pattern(count: size, seed: 5) + [1, 2, 3]
            try parentSends.sendBytes(outgoing, offset: 32, count: size)
            outgoing = []
            var incoming = [UInt8](repeating: 0xEE, count: size + 10)
            XCTAssertEqual(try parentReceives.receiveBytes(into: &incoming, offset: 10), size, "duplex \(duplex)")
            XCTAssertEqual(incoming[..<10], ArraySlice(repeating: 0xEE, count: 10))
            XCTAssertEqual(Array(incoming[10...]), pattern(count: size, seed: 5), "duplex \(duplex)")
            XCTAssertTrue(try child.join(timeout: .seconds(120)))
            XCTAssertEqual(child.exitStatus, .exited(0), "duplex \(duplex)")
            assertThrows(.endOfFile) { () throws(ConnectionError) in try parentReceives.receiveBytes(into: &incoming) }
        }
    }
}

extension Int {
    /// Fails the test unless this write's result is `expected` (every byte written).
    fileprivate func expect(_ expected: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(self, expected, "write", file: file, line: line)
    }
}
