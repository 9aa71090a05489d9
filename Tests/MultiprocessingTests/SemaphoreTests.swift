import Glibc
import XCTest

@testable import Multiprocessing

/// CountingSemaphore and BoundedSemaphore across processes.
final class SemaphoreTests: XCTestCase {
    func testUnitsReleasedByManyProcessesAreAllAcquired() throws {
        let semaphore = try CountingSemaphore(value: 0)
        let releasers = (0..<3).map { _ in ChildProcess { for _ in 0..<2_000 { try semaphore.release() } } }
        for releaser in releasers { try releaser.start() }
        var acquired = 0
        while acquired < 6_000 && semaphore.acquire(timeout: .seconds(10)) { acquired += 1 }
        for releaser in releasers { try releaser.join() }
        XCTAssertEqual(releasers.map(\.exitCode), [0, 0, 0])
        XCTAssertEqual(acquired, 6_000)
        XCTAssertFalse(semaphore.tryAcquire())
        XCTAssertEqual(semaphore.value, 0)
    }

    func testAtMostValueHoldersAtOnce() throws {
        let slots = try CountingSemaphore(value: 2)
        let inside = try SharedValue(0)
        let most = try SharedValue(0)
        let workers = (0..<5).map { _ in
            ChildProcess {
                for _ in 0..<200 {
                    slots.withAcquired {
                        let now = inside.withLock {
                            $0 += 1
                            return $0
                        }
                        most.withLock { $0 = max($0, now) }
                        inside.withLock { $0 -= 1 }
                    }
                }
            }
        }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0, 0, 0, 0])
        XCTAssertLessThanOrEqual(most.value, 2)
        XCTAssertEqual(slots.value, 2)
    }

    func testAcquireWithTimeout() throws {
        let semaphore = try CountingSemaphore(value: 0)
        let (acquired, waited) = timed { semaphore.acquire(timeout: .milliseconds(200)) }
        XCTAssertFalse(acquired)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(200))
        XCTAssertLessThan(waited, .milliseconds(2200))
        let report = try ReportPipe()
        let waiter = ChildProcess {
            let (acquired, waited) = timed { semaphore.acquire(timeout: .seconds(20)) }
            report.write("\(acquired) \(waited < .seconds(10))\n")
        }
        try waiter.start()
        waitUntilSleeping(waiter.pid!)
        try semaphore.release()
        try waiter.join()
        XCTAssertEqual(try report.readAll(), "true true\n")
    }

    func testReleaseMayExceedTheInitialValueButNotForABoundedSemaphore() throws {
        let semaphore = try CountingSemaphore(value: 1)
        try semaphore.release()
        XCTAssertEqual(semaphore.value, 2)

        let bounded = try BoundedSemaphore(value: 2)
        XCTAssertTrue(bounded.tryAcquire())
        try bounded.release()
        XCTAssertThrowsError(try bounded.release()) {
            XCTAssertEqual($0 as? SyncError, .releasedBoundedSemaphoreTooOften(initialValue: 2))
        }
        XCTAssertEqual(bounded.value, 2)
        // Also from another process.
        let report = try ReportPipe()
        let child = ChildProcess {
            do throws(SyncError) { try bounded.release() } catch { report.write("\(error)\n") }
        }
        try child.start()
        try child.join()
        XCTAssertEqual(
            try report.readAll(),
            "BoundedSemaphore released too many times: its value cannot exceed its initial value 2\n")
    }

    func testInvalidValuesThrow() {
        XCTAssertThrowsError(try CountingSemaphore(value: -1)) {
            XCTAssertEqual($0 as? SyncError, .invalidSemaphoreValue(-1))
        }
        XCTAssertThrowsError(try BoundedSemaphore(value: Int(Int32.max) + 1))
        let full = try? CountingSemaphore(value: Int(Int32.max))
        XCTAssertThrowsError(try full?.release()) { XCTAssertEqual($0 as? SyncError, .semaphoreOverflow) }
    }

    func testSignalsDuringAWaitLoseNothing() throws {
        let semaphore = try CountingSemaphore(value: 0)
        let report = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            report.write("ready\n")
            let (acquired, waited) = timed { semaphore.acquire(timeout: .milliseconds(300)) }
            report.write("timed: \(acquired) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n")
            semaphore.acquire()
            report.write("acquired\n")
        }
        try waiter.start()
        XCTAssertEqual(try report.readLine(), "ready")
        var released = false
        pester(waiter.pid!, with: SIGUSR1, every: .milliseconds(5)) {
            if !released, let line = try? report.readLineIfReady() {
                XCTAssertEqual(line, "timed: false true true")
                try? semaphore.release()
                released = true
            }
            return !waiter.isAlive
        }
        XCTAssertEqual(try report.readAll(), "acquired\n")
        XCTAssertEqual(waiter.exitCode, 0)
    }
}
