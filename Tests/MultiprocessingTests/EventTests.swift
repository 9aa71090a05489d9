import Glibc
import XCTest

@testable import Multiprocessing

final class EventTests: XCTestCase {
    func testSetWakesEveryWaiterInOtherProcesses() throws {
        let event = try Event()
        XCTAssertFalse(event.isSet)
        let report = try ReportPipe()
        let waiters = (0..<3).map { number in
            ChildProcess { report.write("waiter \(number): \(event.wait(timeout: .seconds(20)))\n") }
        }
        for waiter in waiters { try waiter.start() }
        for waiter in waiters { waitUntilSleeping(waiter.pid!) }
        event.set()
        XCTAssertTrue(event.isSet)
        for waiter in waiters { try waiter.join() }
        XCTAssertEqual(
            try report.readAll().split(separator: "\n").sorted(),
            ["waiter 0: true", "waiter 1: true", "waiter 2: true"])
        XCTAssertTrue(event.wait(timeout: .zero))
        event.clear()
        XCTAssertFalse(event.isSet)
    }

    func testWaitTimesOut() throws {
        let event = try Event()
        let (result, waited) = timed { event.wait(timeout: .milliseconds(200)) }
        XCTAssertFalse(result)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(200))
        XCTAssertLessThan(waited, .milliseconds(2200))
        XCTAssertFalse(event.wait(timeout: .zero))
    }

    /// As in CPython: a set followed at once by a clear still releases the waiters of that moment.
    func testSetThenClearStillWakesAWaiter() throws {
        let event = try Event()
        let report = try ReportPipe()
        let waiter = ChildProcess { report.write("\(event.wait(timeout: .seconds(20)))\n") }
        try waiter.start()
        let deadline = ContinuousClock.now + .seconds(10)
        while event.waiterCount == 0 && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
        waitUntilSleeping(waiter.pid!)
        event.set()
        event.clear()
        try waiter.join()
        XCTAssertEqual(try report.readAll(), "true\n")
        XCTAssertFalse(event.isSet)
    }

    func testSignalsDuringAWaitLoseNothing() throws {
        let event = try Event()
        let report = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            report.write("ready\n")
            let (result, waited) = timed { event.wait(timeout: .milliseconds(300)) }
            report.write("timed: \(result) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n")
            report.write("then: \(event.wait())\n")
        }
        try waiter.start()
        XCTAssertEqual(try report.readLine(), "ready")
        var didSet = false
        pester(waiter.pid!, with: SIGUSR1, every: .milliseconds(5)) {
            if !didSet, let line = try? report.readLineIfReady() {
                XCTAssertEqual(line, "timed: false true true")
                event.set()
                didSet = true
            }
            return !waiter.isAlive
        }
        XCTAssertEqual(try report.readAll(), "then: true\n")
    }
}
