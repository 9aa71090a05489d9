import Glibc
import XCTest

@testable import Multiprocessing

final class BarrierTests: XCTestCase {
    func testIndexZeroGoesToExactlyOneWaiterAndTheActionRunsOncePerRound() throws {
        let rounds = 20
        let actions = try SharedValue(0)
        let barrier = try Barrier(parties: 3, action: { actions.withLock { $0 += 1 } }, timeout: .seconds(20))
        let indices = try SharedArray<Int>(repeating: -1, count: 3 * rounds)
        let workers = (0..<3).map { worker in
            ChildProcess {
                for round in 0..<rounds { indices[round * 3 + worker] = try barrier.wait() }
            }
        }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0, 0])
        let all = indices.elements
        for round in 0..<rounds {
            XCTAssertEqual(all[round * 3..<round * 3 + 3].sorted(), [0, 1, 2], "round \(round)")
        }
        XCTAssertEqual(actions.value, rounds)
        XCTAssertFalse(barrier.isBroken)
    }

    /// Children wait on a barrier of `parties`; returns them with a pipe of their outcomes.
    private func waiters(_ count: Int, on barrier: Barrier, timeout: Duration? = nil) throws -> (
        [ChildProcess], ReportPipe
    ) {
        let report = try ReportPipe()
        let children = (0..<count).map { _ in
            ChildProcess {
                do throws(SyncError) {
                    report.write("passed \(try barrier.wait(timeout: timeout))\n")
                } catch {
                    report.write("\(error)\n")
                }
            }
        }
        for child in children { try child.start() }
        return (children, report)
    }

    private func waitForWaiting(_ barrier: Barrier, _ count: Int) {
        let deadline = ContinuousClock.now + .seconds(10)
        while barrier.waitingCount < count && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
    }

    func testAbortBreaksEveryWaiterUntilReset() throws {
        let barrier = try Barrier(parties: 3)
        let (children, report) = try waiters(2, on: barrier)
        waitForWaiting(barrier, 2)
        barrier.abort()
        for child in children { try child.join() }
        XCTAssertEqual(try report.readAll(), "the barrier is broken\nthe barrier is broken\n")
        XCTAssertTrue(barrier.isBroken)
        XCTAssertThrowsError(try barrier.wait()) { XCTAssertEqual($0 as? SyncError, .brokenBarrier) }

        barrier.reset()
        XCTAssertFalse(barrier.isBroken)
        let (again, report2) = try waiters(2, on: barrier)
        let index = try barrier.wait(timeout: .seconds(20))
        for child in again { try child.join() }
        let lines = try report2.readAll().split(separator: "\n").map(String.init)
        XCTAssertEqual((lines + ["passed \(index)"]).sorted(), ["passed 0", "passed 1", "passed 2"])
    }

    func testATimeoutBreaksTheBarrierForEveryWaiter() throws {
        let barrier = try Barrier(parties: 3)
        let (patient, report) = try waiters(1, on: barrier)
        waitForWaiting(barrier, 1)
        let (result, waited) = timed {
            Result { () throws(SyncError) in try barrier.wait(timeout: .milliseconds(200)) }
        }
        XCTAssertThrowsError(try result.get()) { XCTAssertEqual($0 as? SyncError, .brokenBarrier) }
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(200))
        XCTAssertLessThan(waited, .milliseconds(2200))
        try patient[0].join()
        XCTAssertEqual(try report.readAll(), "the barrier is broken\n")
        XCTAssertTrue(barrier.isBroken)
    }

    func testResetWhileWaitingBreaksTheWaitersThenWorks() throws {
        let barrier = try Barrier(parties: 2, timeout: .seconds(20))
        let (children, report) = try waiters(1, on: barrier)
        waitForWaiting(barrier, 1)
        barrier.reset()
        try children[0].join()
        XCTAssertEqual(try report.readAll(), "the barrier is broken\n")
        XCTAssertFalse(barrier.isBroken)
        let (pair, report2) = try waiters(1, on: barrier)
        let index = try barrier.wait()
        try pair[0].join()
        XCTAssertEqual(try report2.readAll(), "passed \(1 - index)\n")
    }

    func testAFailingActionBreaksTheBarrierAndItsErrorReachesTheWaiterThatRanIt() throws {
        struct Oops: Error, Equatable, CustomStringConvertible {
            let code: Int
            var description: String { "oops \(code)" }
        }
        let barrier = try Barrier(parties: 2, action: { throw Oops(code: 42) }, timeout: .seconds(20))
        let (children, report) = try waiters(1, on: barrier)
        waitForWaiting(barrier, 1)
        // This process arrives last, so it runs the action and gets the error it threw.
        do {
            try barrier.wait()
            XCTFail("the action threw, so wait() must throw")
        } catch SyncError.barrierActionFailed(let failure) {
            XCTAssertEqual(failure.error as? Oops, Oops(code: 42), "the original value, not a string")
            XCTAssertEqual(failure.typeName, "Oops")
            XCTAssertEqual(failure.description, "oops 42")
            XCTAssertEqual(
                SyncError.barrierActionFailed(failure), .barrierActionFailed(BarrierActionFailure(Oops(code: 42))))
            XCTAssertNotEqual(failure, BarrierActionFailure(Oops(code: 7)))
            XCTAssertEqual(
                SyncError.barrierActionFailed(failure).description,
                "the barrier's action failed (the barrier is now broken): oops 42")
        } catch {
            XCTFail("unexpected \(error)")
        }
        try children[0].join()
        XCTAssertEqual(try report.readAll(), "the barrier is broken\n")
        XCTAssertTrue(barrier.isBroken)
    }

    func testAWaiterKilledInsideBreaksTheBarrierInsteadOfHangingIt() throws {
        let barrier = try Barrier(parties: 3)
        let (doomed, _) = try waiters(1, on: barrier)
        waitForWaiting(barrier, 1)
        try doomed[0].kill()
        try doomed[0].join()
        let (result, waited) = timed { Result { () throws(SyncError) in try barrier.wait() } }  // no timeout
        XCTAssertThrowsError(try result.get()) { XCTAssertEqual($0 as? SyncError, .brokenBarrier) }
        XCTAssertLessThan(waited, .seconds(5))
        barrier.reset()
        XCTAssertEqual(barrier.waitingCount, 0)
        XCTAssertFalse(barrier.isBroken)
    }

    func testInvalidParties() {
        XCTAssertThrowsError(try Barrier(parties: 0)) { XCTAssertEqual($0 as? SyncError, .invalidBarrierParties(0)) }
        XCTAssertEqual(try Barrier(parties: 1).wait(), 0)
    }
}
