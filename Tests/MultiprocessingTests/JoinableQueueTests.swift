import Glibc
import XCTest

@testable import Multiprocessing

final class JoinableQueueTests: XCTestCase {
    func testJoinReturnsExactlyWhenTheLastItemIsDone() throws {
        let queue = try JoinableQueue<Int>()
        for value in 1...3 { try queue.put(value) }
        XCTAssertEqual(queue.unfinishedTasks, 3)
        let lastOne = try ReportPipe()
        let beforeLastTaskDone = try SharedValue(0)
        let worker = ChildProcess {
            for _ in 1...2 {
                _ = try queue.get()
                try queue.taskDone()
            }
            _ = try queue.get()
            _ = try Sys.read(lastOne.readEnd, upTo: 1)  // wait for the go
            beforeLastTaskDone.value = 1
            try queue.taskDone()
        }
        try worker.start()
        // All three are taken, two are done: join must not return.
        let (early, waited) = timed { queue.join(timeout: .milliseconds(300)) }
        XCTAssertFalse(early)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(2300))
        lastOne.write("!")
        queue.join()
        XCTAssertEqual(beforeLastTaskDone.value, 1)  // join returned after the last taskDone, not before
        XCTAssertEqual(queue.unfinishedTasks, 0)
        try worker.join()
        XCTAssertEqual(worker.exitCode, 0)
    }

    func testOverCallingTaskDoneThrows() throws {
        let queue = try JoinableQueue<String>()
        XCTAssertThrowsError(try queue.taskDone()) { XCTAssertEqual($0 as? QueueError, .taskDoneTooManyTimes) }
        try queue.put("a")
        try queue.put("b")
        // Done for an item nobody has taken yet is an error too (Python would allow it).
        XCTAssertThrowsError(try queue.taskDone()) { XCTAssertEqual($0 as? QueueError, .taskDoneTooManyTimes) }
        _ = try queue.get()
        try queue.taskDone()
        XCTAssertThrowsError(try queue.taskDone()) { XCTAssertEqual($0 as? QueueError, .taskDoneTooManyTimes) }
        XCTAssertEqual(queue.unfinishedTasks, 1)
        let child = ChildProcess {
            _ = try queue.get()
            try queue.taskDone()
            do throws(QueueError) {
                try queue.taskDone()
                exitProcess(3)
            } catch {
                exitProcess(error == .taskDoneTooManyTimes ? 0 : 4)
            }
        }
        try child.start()
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertTrue(queue.join(timeout: .seconds(5)))
        XCTAssertEqual(
            "\(QueueError.taskDoneTooManyTimes)", "taskDone() called more times than items were taken from the queue")
    }

    func testJoinWithNothingPutReturnsAtOnce() throws {
        let queue = try JoinableQueue<Int>()
        let (done, waited) = timed { queue.join(timeout: .seconds(10)) }
        XCTAssertTrue(done)
        XCTAssertLessThan(waited, .seconds(1))
    }

    func testWorkersAndSeveralJoiners() throws {
        let queue = try JoinableQueue<Int>(maxSize: 20)
        let results = try Queue<Int>()
        let workers = (0..<2).map { _ in
            ChildProcess {
                while true {
                    let value = try queue.get()
                    if value < 0 {
                        try queue.taskDone()
                        return
                    }
                    try results.put(value * value)
                    try queue.taskDone()
                }
            }
        }
        let joiner = ChildProcess { queue.join() }  // another process may join too
        for worker in workers { try worker.start() }
        for value in 0..<500 { try queue.put(value) }
        try joiner.start()
        queue.join()
        // Every square was put before its taskDone, so all are there now.
        XCTAssertEqual(results.count, 500)
        try joiner.join(timeout: .seconds(20))
        XCTAssertEqual(joiner.exitCode, 0)
        for _ in workers { try queue.put(-1) }
        queue.join()
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0])
        var sum = 0
        while let square = try results.tryGet() { sum += square }
        XCTAssertEqual(sum, (0..<500).reduce(0) { $0 + $1 * $1 })
    }

    func testTaskDoneAndJoinStillWorkAfterClose() throws {
        let queue = try JoinableQueue<Int>()
        try queue.put(1)
        _ = try queue.get()
        queue.close()
        XCTAssertThrowsError(try queue.put(2)) { XCTAssertEqual($0 as? QueueError, .closed) }
        try queue.taskDone()
        XCTAssertTrue(queue.join(timeout: .seconds(5)))
    }
}
