import CMultiprocessingShims
import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

private struct Note: Codable, Equatable {
    var sender: String
    var number: Int
    var words: [String]
}

/// Writes raw bytes to a descriptor, bypassing the framing (to forge partial or lying frames).
private func writeRaw(_ bytes: [UInt8], to fd: Int32) {
    bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {
            let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if written > 0 { offset += written } else if written < 0 && errno != EINTR && errno != EAGAIN { return }
        }
    }
}

private func header(_ length: UInt32) -> [UInt8] {
    withUnsafeBytes(of: length.littleEndian, Array.init)
}

final class ConnectionTests: XCTestCase {
    func testDuplexCarriesMessagesBothWaysAndKeepsBoundaries() throws {
        let (a, b) = try Connection<Note>.makePipe(duplex: true)
        let notes = (0..<100).map { Note(sender: "a", number: $0, words: Array(repeating: "w", count: $0 % 7)) }
        for note in notes { try a.send(note) }
        for note in notes { XCTAssertEqual(try b.receive(), note) }
        try b.send(Note(sender: "b", number: -1, words: []))
        XCTAssertEqual(try a.receive(), Note(sender: "b", number: -1, words: []))
        XCTAssertTrue(a.isReadable && a.isWritable && b.isReadable && b.isWritable)
    }

    func testEmptyMessagesAreMessages() throws {
        let (a, b) = try Connection<[Int]>.makePipe()
        try a.sendBytes([])
        try a.send([])
        try a.sendBytes([1, 2, 3])
        XCTAssertEqual(try b.receiveBytes(), [])
        XCTAssertEqual(try b.receive(), [])
        XCTAssertEqual(try b.receiveBytes(), [1, 2, 3])
        XCTAssertFalse(try b.poll())
    }

    /// The copy-free forms the pool's workers use: raw memory out, a frame's bytes lent to a closure
    /// in; they interoperate with `sendBytes`/`receiveBytes` and keep the same limits.
    func testSendFrameAndWithNextFrameCarryBytesWithoutArrays() throws {
        let (a, b) = try Connection<[Int]>.makePipe(maxMessageSize: 8)
        let bytes: [UInt8] = [9, 8, 7]
        try bytes.withUnsafeBytes { raw in try a.sendFrame(raw) }
        try a.sendBytes([])
        XCTAssertEqual(try b.withNextFrame { (frame) throws(ConnectionError) -> [UInt8] in Array(frame) }, bytes)
        XCTAssertEqual(try b.withNextFrame { (frame) throws(ConnectionError) -> Int in frame.count }, 0)
        let nine = [UInt8](repeating: 1, count: 9)
        XCTAssertThrowsError(try nine.withUnsafeBytes { raw in try a.sendFrame(raw) }) { error in
            XCTAssertEqual(error as? ConnectionError, .messageTooLarge(size: 9, maximum: 8))
        }
        XCTAssertFalse(try b.poll(), "nothing was sent for the refused frame")
        let (readEnd, writeEnd) = try Connection<[Int]>.makePipe(duplex: false)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { raw in try readEnd.sendFrame(raw) }) { error in
            XCTAssertEqual(error as? ConnectionError, .wrongDirection(.send))
        }
        XCTAssertThrowsError(try writeEnd.withNextFrame { (frame) throws(ConnectionError) -> Int in frame.count }) {
            error in
            XCTAssertEqual(error as? ConnectionError, .wrongDirection(.receive))
        }
    }

    func testOneWayPipeReturnsTheReceivingEndFirstAndRefusesTheWrongDirection() throws {
        let (reader, writer) = try Connection<String>.makePipe(duplex: false)
        XCTAssertTrue(reader.isReadable)
        XCTAssertFalse(reader.isWritable)
        XCTAssertTrue(writer.isWritable)
        XCTAssertFalse(writer.isReadable)
        try writer.send("one way")
        XCTAssertEqual(try reader.receive(), "one way")
        assertThrows(.wrongDirection(.send)) { () throws(ConnectionError) in
            try reader.send("back")
        }
        assertThrows(.wrongDirection(.receive)) { () throws(ConnectionError) in
            try writer.receive()
        }
        assertThrows(.wrongDirection(.receive)) { () throws(ConnectionError) in
            try writer.poll()
        }
        assertThrows(.wrongDirection(.send)) { () throws(ConnectionError) in
            try reader.sendBytes([1])
        }
        XCTAssertEqual(
            ConnectionError.wrongDirection(.send).description, "cannot send on the receiving end of a one-way pipe")
        XCTAssertEqual(
            ConnectionError.wrongDirection(.receive).description,
            "cannot receive on the sending end of a one-way pipe")
    }

    func testUseAfterCloseThrowsAndCloseTwiceIsFine() throws {
        let (a, b) = try Connection<Int>.makePipe()
        a.close()
        a.close()
        XCTAssertTrue(a.isClosed)
        XCTAssertFalse(b.isClosed)
        assertThrows(.closed) { () throws(ConnectionError) in try a.send(1) }
        assertThrows(.closed) { () throws(ConnectionError) in try a.receive() }
        assertThrows(.closed) { () throws(ConnectionError) in try a.poll() }
        assertThrows(.closed) { () throws(ConnectionError) in try a.sendBytes([]) }
        assertThrows(.closed) { () throws(ConnectionError) in try a.receiveBytes() }
    }

    func testEndOfFileOnlyAfterEveryWriterClosedIncludingAnInheritedCopy() throws {
        for duplex in [false, true] {
            let (reader, writer) = try Connection<String>.makePipe(duplex: duplex)
            let mayFinish = try ReportPipe()
            // The child inherits a copy of the writing end (and of the reading end, which it closes).
            let child = ChildProcess {
                reader.close()
                _ = try Sys.read(mayFinish.readEnd, upTo: 1)
                try writer.send("last words")
            }
            try child.start()
            writer.close()  // the parent's copy; the child's copy keeps the pipe open
            XCTAssertFalse(try reader.poll(timeout: .milliseconds(200)), "end of file while the child holds a writer")
            mayFinish.write("!")
            XCTAssertEqual(try reader.receive(), "last words")
            try child.join()
            XCTAssertEqual(child.exitCode, 0)
            XCTAssertTrue(try reader.poll(timeout: .seconds(10)), "end of file is ready")
            assertThrows(.endOfFile) { () throws(ConnectionError) in try reader.receive() }
            assertThrows(.endOfFile) { () throws(ConnectionError) in try reader.receive() }
            _ = try mayFinish.readAll()
            reader.close()
        }
    }

    func testForgettingToCloseTheUnusedEndMeansNoEndOfFile() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        let child = ChildProcess {
            reader.close()
            for number in 1...3 { try writer.send(number) }
        }
        try child.start()
        // The parent forgets writer.close(): the child has ended, but a writer is still open.
        try child.join()
        for number in 1...3 { XCTAssertEqual(try reader.receive(), number) }
        XCTAssertFalse(try reader.poll(timeout: .milliseconds(100)))
        writer.close()
        assertThrows(.endOfFile) { () throws(ConnectionError) in try reader.receive() }
    }

    func testPollWithZeroNegativeTimedAndNilTimeouts() throws {
        let (a, b) = try Connection<Int>.makePipe()
        for timeout: Duration in [.zero, .milliseconds(-100), .seconds(-1_000_000)] {
            let started = ContinuousClock.now
            XCTAssertFalse(try b.poll(timeout: timeout))
            XCTAssertLessThan(ContinuousClock.now - started, .seconds(1))
        }
        XCTAssertFalse(try b.poll(), "the default timeout is zero, as in Python")

        let started = ContinuousClock.now
        XCTAssertFalse(try b.poll(timeout: .milliseconds(300)))
        let waited = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(300) + .seconds(2))

        // nil waits for as long as it takes: here, for a child to send.
        let child = ChildProcess { try a.send(7) }
        try child.start()
        XCTAssertTrue(try b.poll(timeout: nil))
        XCTAssertTrue(try b.poll(timeout: .zero), "poll consumed nothing")
        XCTAssertEqual(try b.receive(), 7)
        try child.join()
        XCTAssertFalse(try b.poll())
    }

    func testPollNeverConsumesAPartialMessage() throws {
        let (reader, writer) = try Connection<[UInt8]>.makePipe(duplex: false)
        let message = try BinaryEncoder().encode(pattern(count: 1000, seed: 3))
        writeRaw(header(UInt32(message.count)) + message[..<500], to: writer.fd)
        XCTAssertTrue(try reader.poll(), "a message has started to arrive")
        XCTAssertTrue(try reader.poll(timeout: .milliseconds(10)))
        writeRaw(Array(message[500...]), to: writer.fd)
        XCTAssertEqual(try reader.receive(), pattern(count: 1000, seed: 3))
        XCTAssertFalse(try reader.poll())
    }

    func testSixteenMebibyteMessagesBothWaysAndBothKinds() throws {
        let size = 16 << 20
        for duplex in [true, false] {
            let (parentEnd, childEnd): (Connection<[UInt8]>, Connection<[UInt8]>)
            let (back, forth): (Connection<[UInt8]>, Connection<[UInt8]>)
            if duplex {
                (parentEnd, childEnd) = try Connection<[UInt8]>.makePipe(duplex: true)
                (back, forth) = (parentEnd, childEnd)
            } else {
                (childEnd, parentEnd) = try Connection<[UInt8]>.makePipe(duplex: false)  // parent → child
                (back, forth) = try Connection<[UInt8]>.makePipe(duplex: false)  // child → parent
            }
            let child = ChildProcess {
                let received = try childEnd.receive()
                // Echo it back as a typed message, then as raw bytes.
                try forth.send(received)
                try forth.sendBytes(pattern(count: size, seed: 9))
            }
            try child.start()
            try parentEnd.send(pattern(count: size, seed: 1))
            XCTAssertEqual(try back.receive(), pattern(count: size, seed: 1), "duplex \(duplex)")
            XCTAssertEqual(try back.receiveBytes(), pattern(count: size, seed: 9), "duplex \(duplex)")
            try child.join()
            XCTAssertEqual(child.exitCode, 0)
        }
    }

    func testWritingToAClosedPeerThrowsInsteadOfKillingTheProcess() throws {
        for duplex in [true, false] {
            let (reader, writer) = try Connection<String>.makePipe(duplex: duplex)
            reader.close()
            assertThrows(.peerClosed) { () throws(ConnectionError) in try writer.send("anyone?") }
            assertThrows(.peerClosed) { () throws(ConnectionError) in try writer.sendBytes([1]) }
            writer.close()
        }
    }

    func testAReaderKilledMidMessageMakesTheWriterThrow() throws {
        for duplex in [true, false] {
            let (reader, writer) = try Connection<[UInt8]>.makePipe(duplex: duplex)
            let child = ChildProcess {
                writer.close()
                while true { pause() }  // holds the reader, reads nothing
            }
            try child.start()
            reader.close()
            let sender = ChildProcess {
                // 16 MiB does not fit in the pipe: the send blocks until the reader dies.
                do throws(ConnectionError) {
                    try writer.send(pattern(count: 16 << 20, seed: 0))
                    exitProcess(2)
                } catch .peerClosed {
                    exitProcess(0)
                } catch {
                    exitProcess(3)
                }
            }
            try sender.start()
            writer.close()
            Sys.sleep(for: .milliseconds(50))  // not for ordering: the sender blocks either way
            try child.kill()
            try child.join()
            try sender.join(timeout: .seconds(20))
            XCTAssertEqual(sender.exitCode, 0, "duplex \(duplex): the sender must throw peerClosed, not die of SIGPIPE")
            if sender.isAlive {
                try sender.kill()
                try sender.join()
            }
        }
    }

    func testATruncatedFrameIsNotEndOfFile() throws {
        // The writer dies in the middle of a message: forged by writing part of a frame and closing.
        let (reader, writer) = try Connection<[UInt8]>.makePipe(duplex: false)
        writeRaw(header(100) + [UInt8](repeating: 7, count: 10), to: writer.fd)
        writer.close()
        assertThrows(.truncated(expected: 104, received: 14)) { () throws(ConnectionError) in try reader.receive() }

        let (reader2, writer2) = try Connection<Int>.makePipe(duplex: true)
        writeRaw([1, 0], to: writer2.fd)  // half a header
        writer2.close()
        assertThrows(.truncated(expected: 4, received: 2)) { () throws(ConnectionError) in try reader2.receive() }
    }

    func testAFrameLargerThanTheMaximumIsRefusedWithoutAllocatingIt() throws {
        let (a, b) = try Connection<[UInt8]>.makePipe(duplex: true, maxMessageSize: 1024)
        XCTAssertEqual(a.maxMessageSize, 1024)
        assertThrows(.messageTooLarge(size: 2048 + 4, maximum: 1024)) { () throws(ConnectionError) in
            try a.send([UInt8](repeating: 0, count: 2048))
        }
        assertThrows(.messageTooLarge(size: 2048, maximum: 1024)) { () throws(ConnectionError) in
            try a.sendBytes([UInt8](repeating: 0, count: 2048))
        }
        XCTAssertFalse(try b.poll(), "nothing was sent")
        // A peer (or garbage) announcing 4 GiB: refused at once, and the stream stays refused.
        writeRaw(header(.max), to: a.fd)
        assertThrows(.messageTooLarge(size: Int(UInt32.max), maximum: 1024)) { () throws(ConnectionError) in
            try b.receive()
        }
        assertThrows(.messageTooLarge(size: Int(UInt32.max), maximum: 1024)) { () throws(ConnectionError) in
            try b.receive()
        }
        assertThrows(.invalidMaxMessageSize(0)) { () throws(ConnectionError) in
            try Connection<Int>.makePipe(maxMessageSize: 0)
        }
        assertThrows(.invalidMaxMessageSize(Int(UInt32.max) + 1)) { () throws(ConnectionError) in
            try Connection<Int>.makePipe(maxMessageSize: Int(UInt32.max) + 1)
        }
        XCTAssertEqual(
            ConnectionError.invalidMaxMessageSize(0).description,
            "maxMessageSize must be between 1 and 4294967295, not 0")
    }

    func testAnUndecodableMessageSaysWhichTypeAndTheNextOneStillArrives() throws {
        let (a, b) = try Connection<Int>.makePipe()
        try a.sendBytes(BinaryEncoder().encode("not a number"))
        try a.send(42)
        assertThrows(.undecodable(.typeMismatch(type: "Int", offset: 0, path: "Int", found: "String"))) {
            () throws(ConnectionError) in
            try b.receive()
        }
        XCTAssertEqual(try b.receive(), 42)
    }

    func testSignalsDuringReceiveSendAndPollLoseNothing() throws {
        XCTAssertEqual(mp_signal_catch_and_ignore(SIGUSR1), 0)
        defer { _ = mp_signal_default(SIGUSR1) }
        let storm = SignalStorm(target: pthread_self(), signal: SIGUSR1)
        storm.start()
        defer { storm.stop() }

        // Receiving: a child sends small messages in bursts and a large one, while this thread is signalled.
        let (parentEnd, childEnd) = try Connection<[UInt8]>.makePipe(duplex: true)
        let count = 300
        let child = ChildProcess {
            parentEnd.close()
            for index in 0..<count {
                try childEnd.send(pattern(count: index, seed: index))
                if index % 50 == 0 { Sys.sleep(for: .milliseconds(5)) }  // make the receiver wait
            }
            try childEnd.send(pattern(count: 8 << 20, seed: 1))
            // Then read a large message slowly, so that the parent's send blocks while it is signalled.
            Sys.sleep(for: .milliseconds(50))
            let echoed = try childEnd.receive()
            try childEnd.send([echoed == pattern(count: 8 << 20, seed: 2) ? 1 : 0])
        }
        try child.start()
        for index in 0..<count { XCTAssertEqual(try parentEnd.receive(), pattern(count: index, seed: index)) }
        XCTAssertEqual(try parentEnd.receive(), pattern(count: 8 << 20, seed: 1))
        try parentEnd.send(pattern(count: 8 << 20, seed: 2))
        XCTAssertEqual(try parentEnd.receive(), [1], "the child received the large message intact")

        // Polling keeps its deadline under the storm.
        let started = ContinuousClock.now
        XCTAssertFalse(try parentEnd.poll(timeout: .milliseconds(300)))
        let waited = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(300) + .seconds(2))
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertGreaterThan(storm.stop(), 10, "the storm delivered signals")
    }

    func testCloseWakesAThreadBlockedInReceiveAndReleasesTheDescriptorAfterIt() throws {
        let before = openDescriptorCount()
        let (a, b) = try Connection<Int>.makePipe()
        let outcome = Mutex<ConnectionError?>(nil)
        let started = Mutex(false)
        let thread = TestThread {
            started.withLock { $0 = true }
            do throws(ConnectionError) {
                _ = try b.receive()
            } catch {
                outcome.withLock { $0 = error }
            }
        }
        while !started.withLock({ $0 }) { Sys.sleep(for: .milliseconds(1)) }
        Sys.sleep(for: .milliseconds(50))  // let it reach its wait; if it has not, receive sees the close anyway
        b.close()
        thread.join()
        XCTAssertEqual(outcome.withLock { $0 }, .closed)
        a.close()
        XCTAssertEqual(openDescriptorCount(), before)
    }

    func testThreadsSendingAtOnceNeverInterleaveFrames() throws {
        let (a, b) = try Connection<Note>.makePipe()
        let threads = (0..<4).map { sender in
            TestThread {
                for number in 0..<500 {
                    try? a.send(
                        Note(sender: "t\(sender)", number: number, words: Array(repeating: "x", count: number % 13)))
                }
            }
        }
        var next = [String: Int]()
        for _ in 0..<2000 {
            let note = try b.receive()
            XCTAssertEqual(note.number, next[note.sender, default: 0], "in order per sender")
            XCTAssertEqual(note.words.count, note.number % 13)
            next[note.sender] = note.number + 1
        }
        for thread in threads { thread.join() }
        XCTAssertEqual(next.count, 4)
    }

    func testPingPongCounterWithAChild() throws {
        let (mine, theirs) = try Connection<Int>.makePipe()
        let child = ChildProcess {
            mine.close()
            while let value = try? theirs.receive() { try theirs.send(value + 1) }
        }
        try child.start()
        theirs.close()
        var value = 0
        for _ in 0..<1000 {
            try mine.send(value)
            value = try mine.receive() + 1
        }
        XCTAssertEqual(value, 2000)
        mine.close()
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
    }

    func testEveryDescriptorIsCloseOnExecAndNothingLeaks() throws {
        let before = openDescriptorCount()
        for duplex in [true, false] {
            let (a, b) = try Connection<Int>.makePipe(duplex: duplex)
            for end in [a, b] { XCTAssertNotEqual(fcntl(end.fd, F_GETFD) & FD_CLOEXEC, 0) }
            if duplex {
                try a.send(1)
                _ = try b.receive()
            }
            _ = try a.poll(timeout: .milliseconds(1))  // makes the wake descriptor too
        }
        for _ in 0..<500 {
            let (a, b) = try Connection<String>.makePipe(duplex: Bool.random())
            if Bool.random() { a.close() }
            _ = b
        }
        XCTAssertEqual(openDescriptorCount(), before)
        XCTAssertEqual(zombieChildren(), [])
    }

    func testAnEndHandedToAChildKeepsTheMessagesAlreadyReadButNotReceived() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        for number in 1...3 { try writer.send(number) }
        // One read brings all three into this process; only the first is received here.
        XCTAssertEqual(try reader.receive(), 1)
        let child = ChildProcess {
            writer.close()
            let rest = [try reader.receive(), try reader.receive()]
            exitProcess(rest == [2, 3] ? 0 : 1)
        }
        try child.start()
        reader.close()  // handed over: the child's copy carries on
        try child.join()
        XCTAssertEqual(child.exitCode, 0, "the child lost or reordered the messages it inherited")
    }

    func testAChildCanUseAnEndWhoseLockAParentThreadHeldAtTheFork() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        // A parent thread is blocked in receive, holding the receive lock, when the child is forked.
        let received = Mutex<Int?>(nil)
        let thread = TestThread { received.withLock { $0 = try? reader.receive() } }
        Sys.sleep(for: .milliseconds(50))  // not for correctness: the test passes either way
        let mayReceive = try ReportPipe()
        let child = ChildProcess {
            _ = try Sys.read(mayReceive.readEnd, upTo: 1)
            // The child's copy of the lock was locked by a thread it does not have; it must be free.
            exitProcess(try reader.receive() == 2 ? 0 : 1)
        }
        try child.start()
        try writer.send(1)
        thread.join()
        XCTAssertEqual(received.withLock { $0 }, 1)
        try writer.send(2)
        mayReceive.write("!")
        try child.join(timeout: .seconds(20))
        if child.isAlive { try child.kill() }
        try child.join()
        XCTAssertEqual(child.exitCode, 0, "the child deadlocked on an inherited lock, or received the wrong message")
        _ = try mayReceive.readAll()
    }
}
