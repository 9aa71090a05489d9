import Glibc
import XCTest

@testable import Multiprocessing

/// Lock and RLock across processes: exclusion, timeouts, misuse, dead holders, signals.
final class LockTests: XCTestCase {
    func testContendedCounterIsExactOverThreeProcesses() throws {
        let lock = try Lock()
        let counter = try RawSharedValue(0)
        let workers = (0..<3).map { _ in
            ChildProcess { for _ in 0..<50_000 { lock.withLock { counter.value += 1 } } }
        }
        for worker in workers { try worker.start() }
        for worker in workers { try worker.join() }
        XCTAssertEqual(workers.map(\.exitCode), [0, 0, 0])
        XCTAssertEqual(counter.value, 150_000)
        XCTAssertFalse(lock.isLocked)
    }

    func testAcquireWithTimeoutGivesUpAfterAboutTheTimeout() throws {
        let lock = try Lock()
        lock.acquire()
        let report = try ReportPipe()
        let waiter = ChildProcess {
            let (acquired, waited) = timed { lock.acquire(timeout: .milliseconds(250)) }
            report.write("\(acquired) \(waited >= .milliseconds(250)) \(waited < .milliseconds(2250))\n")
        }
        try waiter.start()
        try waiter.join()
        XCTAssertEqual(try report.readAll(), "false true true\n")
        XCTAssertFalse(lock.tryAcquire())
        XCTAssertFalse(lock.acquire(timeout: .zero))
        try lock.release()
    }

    func testAcquireWithTimeoutSucceedsWhenReleasedInTime() throws {
        let lock = try Lock()
        lock.acquire()
        let report = try ReportPipe()
        let waiter = ChildProcess {
            let (acquired, waited) = timed { lock.acquire(timeout: .seconds(20)) }
            report.write("\(acquired) \(waited < .seconds(10))\n")
            try lock.release()
        }
        try waiter.start()
        waitUntilSleeping(waiter.pid!)
        try lock.release()
        try waiter.join()
        XCTAssertEqual(try report.readAll(), "true true\n")
        XCTAssertEqual(waiter.exitCode, 0)
    }

    func testAnyProcessMayReleaseButNotAnUnlockedLock() throws {
        let lock = try Lock()
        XCTAssertThrowsError(try lock.release()) { XCTAssertEqual($0 as? SyncError, .releasedUnlockedLock) }
        XCTAssertTrue(lock.tryAcquire())
        XCTAssertTrue(lock.isLocked)
        let releaser = ChildProcess { try lock.release() }
        try releaser.start()
        try releaser.join()
        XCTAssertEqual(releaser.exitCode, 0)
        XCTAssertFalse(lock.isLocked)
        XCTAssertTrue(lock.tryAcquire())
        try lock.release()
        XCTAssertEqual(SyncError.releasedUnlockedLock.description, "cannot release a Lock that is not locked")
    }

    /// The holder is SIGKILLed while holding the lock; the next acquire takes it over and says so.
    func testHolderKilledWhileHoldingIsTakenOverAndReported() throws {
        let lock = try Lock()
        let report = try ReportPipe()
        let holder = ChildProcess {
            lock.acquire()
            report.write("holding\n")
            kill(getpid(), SIGKILL)
        }
        try holder.start()
        XCTAssertEqual(try report.readAll(), "holding\n")  // end of file: the holder is dead
        XCTAssertTrue(lock.isLocked)
        let (acquired, waited) = timed { lock.acquire(timeout: .seconds(5)) }
        XCTAssertTrue(acquired)
        XCTAssertLessThan(waited, .seconds(3))
        XCTAssertEqual(lock.recovery, LockRecovery(deadHolderPid: holder.pid!))
        try lock.release()
        XCTAssertNil(lock.recovery)  // reported once, to the holder that recovered it
        XCTAssertTrue(lock.tryAcquire())
        XCTAssertNil(lock.recovery)
        try lock.release()
        try holder.join()
        XCTAssertEqual(holder.exitCode, -SIGKILL)
    }

    /// A waiter already asleep in acquire() notices that the holder died.
    func testSleepingWaiterTakesOverFromAKilledHolder() throws {
        let lock = try Lock()
        let held = try ReportPipe()
        let holder = ChildProcess {
            lock.acquire()
            held.write("holding\n")
            while true { pause() }
        }
        try holder.start()
        XCTAssertEqual(try held.readLine(), "holding")
        let report = try ReportPipe()
        let waiter = ChildProcess {
            lock.acquire()
            report.write("acquired; \(lock.recovery.map(String.init(describing:)) ?? "no recovery")\n")
            try lock.release()
        }
        try waiter.start()
        waitUntilSleeping(waiter.pid!)
        try holder.kill()
        try holder.join()
        let (text, waited) = try timed { try report.readAll() }
        XCTAssertEqual(text, "acquired; taken over from process \(holder.pid!), which ended while holding it\n")
        XCTAssertLessThan(waited, .seconds(5))
        try waiter.join()
        XCTAssertEqual(waiter.exitCode, 0)
    }

    func testTryAcquireTakesOverFromAKilledHolder() throws {
        let lock = try Lock()
        let holder = ChildProcess {
            lock.acquire()
            kill(getpid(), SIGKILL)
        }
        try holder.start()
        try holder.join()  // reaped: the holder's pid no longer exists
        XCTAssertTrue(lock.tryAcquire())
        XCTAssertEqual(lock.recovery?.deadHolderPid, holder.pid)
        try lock.release()
    }

    func testSignalsDuringABlockingAcquireLoseNothing() throws {
        let lock = try Lock()
        lock.acquire()
        let report = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            report.write("ready\n")
            // A timed wait under a hail of signals is neither cut short nor restarted...
            let (acquired, waited) = timed { lock.acquire(timeout: .milliseconds(300)) }
            report.write("timed: \(acquired) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n")
            // ...and an untimed one still gets the lock when it is released.
            lock.acquire()
            report.write("acquired\n")
            try lock.release()
        }
        try waiter.start()
        XCTAssertEqual(try report.readLine(), "ready")
        var released = false
        let sent = pester(waiter.pid!, with: SIGUSR1, every: .milliseconds(5)) {
            if !released, let line = try? report.readLineIfReady() {
                XCTAssertEqual(line, "timed: false true true")
                waitUntilSleeping(waiter.pid!)
                try? lock.release()
                released = true
            }
            return !waiter.isAlive
        }
        XCTAssertTrue(released)
        XCTAssertGreaterThan(sent, 2)
        XCTAssertEqual(try report.readAll(), "acquired\n")
        XCTAssertEqual(waiter.exitCode, 0)
    }

    // MARK: RLock

    func testRLockReentryAndMisuse() throws {
        let lock = try RLock()
        XCTAssertThrowsError(try lock.release()) { XCTAssertEqual($0 as? SyncError, .releasedUnacquiredRLock) }
        lock.acquire()
        XCTAssertTrue(lock.tryAcquire())
        XCTAssertTrue(lock.acquire(timeout: .zero))
        XCTAssertEqual(lock.recursionDepth, 3)
        lock.withLock { XCTAssertEqual(lock.recursionDepth, 4) }
        try lock.release()
        try lock.release()
        XCTAssertTrue(lock.isOwnedByCurrentThread)
        try lock.release()
        XCTAssertFalse(lock.isOwnedByCurrentThread)
        XCTAssertEqual(lock.recursionDepth, 0)
        XCTAssertThrowsError(try lock.release()) { XCTAssertEqual($0 as? SyncError, .releasedUnacquiredRLock) }
    }

    func testRLockReleaseByANonOwnerProcessThrows() throws {
        let lock = try RLock()
        lock.acquire()
        let report = try ReportPipe()
        let intruder = ChildProcess {
            do throws(SyncError) {
                try lock.release()
                report.write("released?!\n")
            } catch {
                report.write("\(error == .releasedRLockOfAnotherOwner(ownerPid: getppid(), ownerThread: getppid()))\n")
                report.write("\(error)\n")
            }
            report.write("acquire: \(lock.acquire(timeout: .milliseconds(50)))\n")
        }
        try intruder.start()
        try intruder.join()
        let ppid = getpid()
        XCTAssertEqual(
            try report.readAll(),
            """
            true
            cannot release an RLock held by process \(ppid): only its owner may release it
            acquire: false

            """)
        try lock.release()
    }

    func testRLockReleaseByAnotherThreadThrows() throws {
        let lock = try RLock()
        lock.acquire()
        final class Box: @unchecked Sendable {
            var error: SyncError?
            var lock: RLock?
        }
        let box = Box()
        box.lock = lock
        var thread = pthread_t()
        let context = Unmanaged.passRetained(box).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                do throws(SyncError) { try box.lock!.release() } catch { box.error = error }
                return nil
            }, context)
        pthread_join(thread, nil)
        guard case .releasedRLockOfAnotherOwner(let pid, _)? = box.error else {
            return XCTFail("\(String(describing: box.error))")
        }
        XCTAssertEqual(pid, getpid())
        XCTAssertTrue(box.error!.description.contains("of this process"))
        try lock.release()
    }

    func testRLockOwnerKilledIsTakenOverAtDepthOne() throws {
        let lock = try RLock()
        let holder = ChildProcess {
            lock.acquire()
            lock.acquire()
            kill(getpid(), SIGKILL)
        }
        try holder.start()
        try holder.join()
        XCTAssertTrue(lock.acquire(timeout: .seconds(5)))
        XCTAssertEqual(lock.recovery?.deadHolderPid, holder.pid)
        XCTAssertEqual(lock.recursionDepth, 1)
        try lock.release()
        XCTAssertFalse(lock.isOwnedByCurrentThread)
    }
}

extension ReportPipe {
    /// A line if one is ready right now (without blocking), else nil.
    func readLineIfReady() throws -> String? {
        var entry = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return nil }
        return try readLine()
    }
}
