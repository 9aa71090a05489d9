import CMultiprocessingShims
import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// interrupt(), close() and parentProcess(): Python's Process.interrupt, Process.close and
/// multiprocessing.parent_process.
final class ProcessLifeTests: XCTestCase {
    // MARK: interrupt

    func testInterruptEndsAChildThatDoesNotHandleSigintWithMinusTwo() throws {
        let child = ChildProcess {
            _ = mp_signal_default(SIGINT)  // the test may run as a background job, with SIGINT ignored
            while true { pause() }
        }
        let ready = try Gate()
        let reporter = ChildProcess {
            _ = mp_signal_default(SIGINT)
            ready.signal()
            while true { pause() }
        }
        try reporter.start()
        ready.wait()  // its disposition is the default now
        try reporter.interrupt()
        XCTAssertTrue(try reporter.join(timeout: .seconds(60)))
        XCTAssertEqual(reporter.exitCode, -SIGINT)
        XCTAssertEqual(reporter.exitStatus, .signaled(SIGINT))

        XCTAssertThrowsError(try child.interrupt()) {
            XCTAssertEqual($0 as? ProcessError, .notStarted(name: child.name, operation: .interrupt))
        }
        try child.start()
        try child.kill()
        try child.join()
        XCTAssertNoThrow(try child.interrupt(), "an ended child is not an error")
    }

    func testAChildThatHandlesSigintGoesOn() throws {
        let handlerInstalled = try Gate()
        let goOn = try Gate()
        let child = ChildProcess {
            _ = mp_signal_catch_and_ignore(SIGINT)
            handlerInstalled.signal()
            goOn.wait()  // a caught SIGINT interrupts the read, which is retried
        }
        try child.start()
        handlerInstalled.wait()
        try child.interrupt()
        goOn.signal()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(child.exitCode, 0, "the child survived the SIGINT and returned")
    }

    // MARK: close

    func testCloseWhileRunningIsAnErrorThenEveryLaterCallIsAClosedError() throws {
        let goOn = try Gate()
        let child = ChildProcess(name: "closable") { goOn.wait() }
        try child.start()
        XCTAssertThrowsError(try child.close()) {
            XCTAssertEqual($0 as? ProcessError, .stillRunning(name: "closable"))
        }
        XCTAssertTrue(child.isAlive, "a refused close changes nothing")
        goOn.signal()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        let pid = child.pid
        try child.close()
        try child.close()  // twice is fine

        func assertClosed(_ operation: ProcessOperation, _ call: () throws -> Void) {
            XCTAssertThrowsError(try call(), "\(operation)") {
                XCTAssertEqual($0 as? ProcessError, .closed(name: "closable", operation: operation))
            }
        }
        assertClosed(.start) { try child.start() }
        assertClosed(.join) { try child.join() }
        assertClosed(.join) { try child.join(timeout: .zero) }
        assertClosed(.terminate) { try child.terminate() }
        assertClosed(.kill) { try child.kill() }
        assertClosed(.interrupt) { try child.interrupt() }
        assertClosed(.setDaemon) { try child.setDaemon(true) }
        XCTAssertEqual(
            ProcessError.closed(name: "closable", operation: .join).description,
            "cannot join closable: the process object is closed")
        // The properties keep what was known.
        XCTAssertEqual(child.pid, pid)
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertFalse(child.isAlive)
    }

    func testCloseReapsAnEndedChildThatWasNeverJoined() throws {
        let child = ChildProcess {}
        try child.start()
        let pid = child.pid!
        XCTAssertTrue(waitUntil(timeout: .seconds(60)) { processState(pid) == "Z" })
        try child.close()
        XCTAssertNil(processState(pid), "close reaped the zombie")
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertFalse(ProcessTable.unreapedChildren.contains { $0 === child })
    }

    func testClosingANeverStartedProcessIsFineAndItCannotStartAfterwards() throws {
        let child = ChildProcess(name: "unused") {}
        try child.close()
        XCTAssertNil(child.pid)
        XCTAssertNil(child.exitCode)
        XCTAssertThrowsError(try child.start()) {
            XCTAssertEqual($0 as? ProcessError, .closed(name: "unused", operation: .start))
        }
    }

    /// Close lets go of the target closure, and so of what it captured (Python's close releases the
    /// process's resources; here the closure is what the object holds).
    func testCloseReleasesTheTargetAndWhatItCaptured() throws {
        final class Resource: Sendable {}
        weak var watched: Resource?
        let child: ChildProcess
        do {
            let resource = Resource()
            watched = resource
            child = ChildProcess { _ = resource }
        }
        try child.start()
        try child.join()
        XCTAssertNotNil(watched, "the object keeps its target until closed")
        try child.close()
        XCTAssertNil(watched, "close released the target's captures")
    }

    func testAChildCannotCloseItself() throws {
        let report = try ReportPipe()
        let child = ChildProcess(name: "self-closer") {
            do {
                try currentProcess().close()
                report.write("closed\n")
            } catch {
                report.write("\(error)\n")
            }
        }
        try child.start()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(
            try report.readAll(), "\(ProcessError.stillRunning(name: "self-closer"))\n")
    }

    // MARK: parentProcess

    func testParentProcessIsNilInTheMainProgramAndNamesTheParentInAChild() throws {
        XCTAssertNil(parentProcess())
        let report = try ReportPipe()
        let testPid = getpid()
        let child = ChildProcess(name: "middle") {
            guard let parent = parentProcess() else { return report.write("no parent\n") }
            report.write("\(parent.name) \(parent.pid == testPid) \(parent.isAlive)\n")
            let grandchild = ChildProcess {
                let parent = parentProcess()
                report.write("\(parent?.name ?? "none") \(parent?.pid == getppid()) \(parent?.isAlive == true)\n")
            }
            try grandchild.start()
            try grandchild.join()
            if case .child = try forkProcess() {
                report.write("forked: \(parentProcess() == nil ? "none" : "some")\n")
                exitProcess(0)
            }
        }
        try child.start()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        let lines = try report.readAll().split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(2)), ["MainProcess true true", "middle true true"])
        XCTAssertEqual(lines.dropFirst(2).first, "forked: none")
    }

    /// An orphan sees its parent gone: the parent is killed (no exit handling), and the orphan,
    /// released only after the parent has been reaped, finds it dead.
    func testAnOrphanSeesItsParentIsNoLongerAlive() throws {
        let report = try ReportPipe()
        let parentGone = try Gate()
        let program = ChildProcess(name: "program") {
            let orphan = ChildProcess(name: "orphan") {
                let before = parentProcess()!
                parentGone.wait()
                let after = parentProcess()!
                report.write("\(after.name) alive: \(after.isAlive), same: \(before == after)\n")
            }
            try orphan.start()
            kill(getpid(), SIGKILL)
        }
        try program.start()
        XCTAssertTrue(try program.join(timeout: .seconds(60)))
        XCTAssertEqual(program.exitCode, -SIGKILL)
        parentGone.signal()
        XCTAssertEqual(try report.readAll(), "program alive: false, same: true\n")
    }
}
