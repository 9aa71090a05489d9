import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// waitForAny: Python's multiprocessing.connection.wait over children, connection ends and queues.
final class WaitForAnyTests: XCTestCase {
    /// Three children, each held by its own gate: nothing is ready until one is released, and then
    /// exactly that one.
    func testReturnsTheChildrenThatHaveEnded() throws {
        try checkChildren(usesPidfd: true)
    }

    func testChildrenWithoutPidfdsAreLookedAtInSlices() throws {
        try checkChildren(usesPidfd: false)
    }

    private func checkChildren(usesPidfd: Bool) throws {
        let leftovers = Leftovers()
        do {
            let gates = try (0..<3).map { _ in try Gate() }
            let children = gates.map { gate in ChildProcess { gate.wait() } }
            for child in children {
                child.usesPidfd = usesPidfd
                try child.start()
            }
            XCTAssertEqual(try waitForAny(children, timeout: .milliseconds(100)), [])
            XCTAssertEqual(try waitForAny(children, timeout: .zero), [])
            gates[1].signal()
            XCTAssertEqual(try waitForAny(children, timeout: .seconds(60)), [1])
            XCTAssertEqual(children[1].exitStatus, .exited(0), "the ended child was reaped")
            XCTAssertEqual(try waitForAny(children, timeout: .zero), [1], "an ended child stays ready")
            gates[0].signal()
            gates[2].signal()
            for child in children { XCTAssertTrue(try child.join(timeout: .seconds(60))) }
            XCTAssertEqual(try waitForAny(children + [children[0]]), [0, 1, 2, 3], "every index, duplicates too")
        }
        leftovers.assertNothingLeft("waitForAny over children")
    }

    func testAMessageOrEndOfFileMakesAConnectionReady() throws {
        let (reader, writer) = try Connection<String>.makePipe(duplex: false)
        let (other, otherWriter) = try Connection<String>.makePipe(duplex: false)
        let send = try Gate()
        let child = ChildProcess {
            reader.close()
            send.wait()
            try writer.send("hello")
            send.wait()
        }  // ends: its copy of the writer closes
        try child.start()
        writer.close()
        let objects: [any Waitable] = [other, reader, child]
        XCTAssertEqual(try waitForAny(objects, timeout: .milliseconds(100)), [])
        send.signal()
        XCTAssertEqual(try waitForAny(objects, timeout: .seconds(60)), [1])
        XCTAssertEqual(try waitForAny(objects, timeout: .seconds(60)), [1], "ready until received")
        XCTAssertEqual(try reader.receive(), "hello")
        XCTAssertEqual(try waitForAny(objects, timeout: .zero), [])
        send.signal()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(try waitForAny(objects, timeout: .seconds(60)), [1, 2], "end of file, and the ended child")
        XCTAssertThrowsError(try reader.receive()) { XCTAssertEqual($0 as? ConnectionError, .endOfFile) }
        try otherWriter.send("late")
        XCTAssertEqual(try waitForAny([other], timeout: .seconds(60)), [0])
        other.close()
        otherWriter.close()
        reader.close()
    }

    func testAQueueAloneIsReadyWhenAnItemArrives() throws {
        let queue = try Queue<Int>()
        let put = try Gate()
        let child = ChildProcess {
            put.wait()
            try queue.put(42)
        }
        try child.start()
        XCTAssertEqual(try waitForAny([queue], timeout: .milliseconds(100)), [])
        put.signal()
        XCTAssertEqual(try waitForAny([queue], timeout: .seconds(60)), [0])
        XCTAssertEqual(try queue.tryGet(), 42)
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(try waitForAny([queue], timeout: .zero), [])
    }

    /// A queue beside a descriptor (a child's pidfd) and beside another queue: looked at in slices.
    func testQueuesBesideOtherObjects() throws {
        let first = try Queue<String>()
        let second = try Queue<String>()
        let step = try Gate()
        let child = ChildProcess {
            step.wait()
            try second.put("to the second")
            step.wait()
            try first.put("to the first")
            step.wait()
        }
        try child.start()
        let objects: [any Waitable] = [first, child, second]
        XCTAssertEqual(try waitForAny(objects, timeout: .milliseconds(50)), [])
        step.signal()
        XCTAssertEqual(try waitForAny(objects, timeout: .seconds(60)), [2])
        XCTAssertEqual(try second.tryGet(), "to the second")
        step.signal()
        XCTAssertEqual(try waitForAny([first, second], timeout: .seconds(60)), [0])
        XCTAssertEqual(try first.tryGet(), "to the first")
        step.signal()
        XCTAssertEqual(try waitForAny(objects, timeout: .seconds(60)), [1])
        XCTAssertEqual(child.exitCode, 0)
    }

    func testObjectsThatCannotBeWaitedForAreTypedErrorsWithTheirIndex() throws {
        let notStarted = ChildProcess(name: "idle") {}
        XCTAssertThrowsError(try waitForAny([try Queue<Int>(), notStarted])) {
            XCTAssertEqual($0 as? WaitError, .process(index: 1, .notStarted(name: "idle", operation: .wait)))
        }
        try notStarted.close()
        XCTAssertThrowsError(try waitForAny([notStarted])) {
            XCTAssertEqual($0 as? WaitError, .process(index: 0, .closed(name: "idle", operation: .wait)))
        }
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        XCTAssertThrowsError(try waitForAny([reader, writer])) {
            XCTAssertEqual($0 as? WaitError, .connection(index: 1, .wrongDirection(.receive)))
        }
        reader.close()
        XCTAssertThrowsError(try waitForAny([reader])) {
            XCTAssertEqual($0 as? WaitError, .connection(index: 0, .closed))
        }
        writer.close()
        let queue = try Queue<Int>()
        queue.close()
        XCTAssertThrowsError(try waitForAny([queue])) {
            XCTAssertEqual($0 as? WaitError, .queue(index: 0, .closed))
        }
        XCTAssertThrowsError(try waitForAny([currentProcess()])) {
            XCTAssertEqual(
                $0 as? WaitError,
                .process(index: 0, .notOwnedByThisProcess(name: "MainProcess", operation: .wait)))
        }
        XCTAssertEqual(try waitForAny([], timeout: nil), [], "nothing to wait for returns at once")
    }

    /// A close() from another thread ends the wait with `.closed`, as it ends a blocked poll.
    func testClosingAConnectionFromAnotherThreadEndsTheWait() throws {
        let (reader, writer) = try Connection<Int>.makePipe(duplex: false)
        let queue = try Queue<Int>()
        let waiting = try Gate()
        let closer = try PlainThread(stackSize: 1 << 20) {
            waiting.wait()
            reader.close()
        }
        waiting.signal()  // the close may come before or during the wait: either way it ends it
        XCTAssertThrowsError(try waitForAny([queue, reader], timeout: .seconds(60))) {
            XCTAssertEqual($0 as? WaitError, .connection(index: 1, .closed))
        }
        closer.join()
        writer.close()
    }

    func testTheWaitLeavesNoDescriptorOpen() throws {
        // Counted by kind, so that a descriptor Dispatch opens meanwhile for another thread is not blamed.
        func count(_ kind: String) -> Int { Leftovers.openDescriptors().values.filter { $0.contains(kind) }.count }
        let (reader, writer) = try Connection<Int>.makePipe(duplex: true)
        let goOn = try Gate()
        let child = ChildProcess { goOn.wait() }
        try child.start()
        // The first wait makes the end's wake descriptor (kept by the end) and opens the child's
        // pidfd (kept until the child is reaped, as by a timed join); later waits add nothing.
        XCTAssertEqual(try waitForAny([reader, child], timeout: .zero), [])
        let (pidfds, eventfds) = (count("pidfd"), count("eventfd"))
        for _ in 0..<100 {
            XCTAssertEqual(try waitForAny([reader, child], timeout: .zero), [])
        }
        XCTAssertEqual(count("pidfd"), pidfds)
        XCTAssertEqual(count("eventfd"), eventfds)
        goOn.signal()
        XCTAssertEqual(try waitForAny([reader, child], timeout: .seconds(60)), [1])
        XCTAssertEqual(count("pidfd"), pidfds - 1, "the pidfd is closed with the reap")
        reader.close()
        writer.close()
    }
}
