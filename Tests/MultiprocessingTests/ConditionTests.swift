import Glibc
import XCTest

@testable import Multiprocessing

final class ConditionTests: XCTestCase {
    /// Waits until `count` waiters are registered and each of `pids` sleeps: every one is in the futex.
    private func waitUntilAsleep(_ condition: Condition, count: Int, _ pids: [pid_t]) {
        let deadline = ContinuousClock.now + .seconds(10)
        while condition.waiterCount < count && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
        for pid in pids { waitUntilSleeping(pid) }
    }

    func testNotifyWakesAWaiterInAnotherProcess() throws {
        for useRLock in [false, true] {
            let condition = useRLock ? try Condition(lock: RLock()) : try Condition(lock: Lock())
            let ready = try SharedValue(false)
            let report = try ReportPipe()
            let waiter = ChildProcess {
                try condition.withLock { () throws(SyncError) in
                    let result = try condition.wait(for: { ready.value }, timeout: .seconds(20))
                    report.write("waiter: ready? \(result)\n")
                }
            }
            try waiter.start()
            waitUntilAsleep(condition, count: 1, [waiter.pid!])
            try condition.withLock { () throws(SyncError) in
                ready.value = true
                try condition.notify()
            }
            try waiter.join()
            XCTAssertEqual(try report.readAll(), "waiter: ready? true\n")
        }
    }

    func testWaitOrNotifyWithoutTheLockThrows() throws {
        let condition = try Condition(lock: Lock())
        XCTAssertThrowsError(try condition.wait(timeout: .zero)) {
            XCTAssertEqual($0 as? SyncError, .conditionLockNotHeld(operation: .wait))
        }
        XCTAssertThrowsError(try condition.notify()) {
            XCTAssertEqual($0 as? SyncError, .conditionLockNotHeld(operation: .notify))
        }
        XCTAssertThrowsError(try condition.notifyAll())
        XCTAssertThrowsError(try condition.wait(for: { true })) {
            XCTAssertEqual($0 as? SyncError, .conditionLockNotHeld(operation: .wait))
        }
        XCTAssertEqual(
            SyncError.conditionLockNotHeld(operation: .wait).description,
            "cannot wait on a Condition without holding its lock")
        // Held by another process is not held by this one.
        condition.acquire()
        let report = try ReportPipe()
        let other = ChildProcess {
            do throws(SyncError) { try condition.notify() } catch { report.write("\(error)\n") }
        }
        try other.start()
        try other.join()
        XCTAssertEqual(try report.readAll(), "cannot notify on a Condition without holding its lock\n")
        try condition.release()
    }

    func testNotifyOneWakesOneAndTimedOutWaitersTakeNothing() throws {
        let condition = try Condition()
        let report = try ReportPipe()
        // A waiter that times out first: it must not use up the notification below.
        let impatient = ChildProcess {
            try condition.withLock { () throws(SyncError) in
                report.write("impatient: \(try condition.wait(timeout: .milliseconds(100)))\n")
            }
        }
        try impatient.start()
        try impatient.join()
        let waiters = (0..<2).map { _ in
            ChildProcess {
                try condition.withLock { () throws(SyncError) in
                    let notified = try condition.wait(timeout: .seconds(20))
                    report.write("woken: \(notified)\n")
                }
            }
        }
        for waiter in waiters { try waiter.start() }
        waitUntilAsleep(condition, count: 2, waiters.map { $0.pid! })
        try condition.withLock { () throws(SyncError) in try condition.notify(1) }
        // One waiter ends; the other stays asleep until notifyAll.
        var ended = 0
        let deadline = ContinuousClock.now + .seconds(10)
        while ended == 0 && ContinuousClock.now < deadline {
            ended = waiters.filter { !$0.isAlive }.count
            Sys.sleep(for: .milliseconds(1))
        }
        Sys.sleep(for: .milliseconds(300))
        XCTAssertEqual(waiters.filter { !$0.isAlive }.count, 1)
        try condition.withLock { () throws(SyncError) in try condition.notifyAll() }
        for waiter in waiters { try waiter.join() }
        XCTAssertEqual(try report.readAll(), "impatient: false\nwoken: true\nwoken: true\n")
    }

    func testWaitReleasesEveryLevelOfAnRLockAndRestoresThem() throws {
        let lock = try RLock()
        let condition = try Condition(lock: lock)
        lock.acquire()
        lock.acquire()
        let report = try ReportPipe()
        let notifier = ChildProcess {
            let got = lock.acquire(timeout: .seconds(20))
            report.write("notifier got the lock: \(got)\n")
            try condition.notify()
            try lock.release()
        }
        try notifier.start()
        let notified = try condition.wait(timeout: .seconds(20))
        XCTAssertTrue(notified)
        XCTAssertEqual(lock.recursionDepth, 2)
        XCTAssertTrue(lock.isOwnedByCurrentThread)
        try lock.release()
        try lock.release()
        try notifier.join()
        XCTAssertEqual(try report.readAll(), "notifier got the lock: true\n")
    }

    func testWaitTimeoutSurvivesSignals() throws {
        let condition = try Condition(lock: Lock())
        let report = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            report.write("ready\n")
            try condition.withLock { () throws(SyncError) in
                let (result, waited) = try timed { () throws(SyncError) in
                    try condition.wait(timeout: .milliseconds(300))
                }
                report.write("\(result) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n")
            }
        }
        try waiter.start()
        XCTAssertEqual(try report.readLine(), "ready")
        pester(waiter.pid!, with: SIGUSR1, every: .milliseconds(5)) { !waiter.isAlive }
        XCTAssertEqual(try report.readAll(), "false true true\n")
    }
}
