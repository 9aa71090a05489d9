import CMultiprocessingShims
import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// Where the C `atexit` handler of `testCAtexitHandlerOfAChildDoesNotRun` writes (a C function
/// pointer cannot capture). Set only in the child that registers it.
nonisolated(unsafe) private var cHandlerReportFd: Int32 = -1

final class ExitHandlerTests: XCTestCase {
    func testHandlerRegisteredInAChildRunsOnceWhenItReturns() throws {
        let report = try ReportPipe()
        let child = ChildProcess {
            atProcessExit { report.write("handler ran in \(getpid())\n") }
            report.write("target returns\n")
        }
        try child.start()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertEqual(try report.readAll(), "target returns\nhandler ran in \(child.pid!)\n")
    }

    func testHandlersRunLastFirstAfterExitProcessAndAThrowingOneIsReported() throws {
        let report = try ReportPipe()
        let child = ChildProcess(name: "registrar") {
            dup2(report.writeEnd, 2)  // the failing handler's report goes to stderr
            atProcessExit { report.write("first\n") }
            atProcessExit {
                report.write("second, throws\n")
                throw TestFailure()
            }
            atProcessExit {
                report.write("third\n")
                atProcessExit { report.write("registered by third\n") }
            }
            exitProcess(4)
        }
        try child.start()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(child.exitCode, 4, "a throwing handler does not change the exit status")
        XCTAssertEqual(
            try report.readAll(),
            "third\nregistered by third\nsecond, throws\nExit handler failed in registrar:\n\(TestFailure())\nfirst\n")
    }

    func testHandlersRunWhenTheTargetThrows() throws {
        let report = try ReportPipe()
        let child = ChildProcess {
            atProcessExit { report.write("handler\n") }
            throw TestFailure()
        }
        try child.start()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(child.exitCode, 1)
        XCTAssertEqual(try report.readAll(), "handler\n")
    }

    /// A parent's handlers stay the parent's: its child starts with none, registers its own, and
    /// runs only those; the parent runs its own once, before joining its children (so a handler can
    /// release a child that waits for it: run after the join, this would hang, and the join time out).
    func testAParentsHandlersDoNotRunInItsChildrenAndRunBeforeTheyAreJoined() throws {
        let report = try ReportPipe()
        let release = try Gate()
        let program = ChildProcess(name: "program") {
            atProcessExit {
                report.write("program's handler\n")
                release.signal()
            }
            let early = ChildProcess(name: "early") {
                atProcessExit { report.write("early's handler\n") }
            }
            try early.start()
            try early.join()
            let waiting = ChildProcess(name: "waiting") {
                release.wait()
                report.write("waiting released\n")
            }
            try waiting.start()
        }  // returns: its handler releases `waiting`, then exit handling joins it
        try program.start()
        let ended = try program.join(timeout: .seconds(60))
        XCTAssertTrue(ended, "the handler did not run before the join")
        if !ended {
            release.signal()  // so that the failure ends instead of hanging
            try program.join()
        }
        XCTAssertEqual(program.exitCode, 0)
        XCTAssertEqual(try report.readAll(), "early's handler\nprogram's handler\nwaiting released\n")
    }

    func testAForkProcessChildRunsOnlyItsOwnHandlers() throws {
        let report = try ReportPipe()
        let program = ChildProcess {
            atProcessExit { report.write("program's handler in \(getpid())\n") }
            switch try forkProcess() {
            case .child:
                atProcessExit { report.write("forked child's handler\n") }
                exitProcess(0)
            case .parent(let pid):
                _ = try waitForProcess(pid)
            }
        }
        try program.start()
        XCTAssertTrue(try program.join(timeout: .seconds(60)))
        XCTAssertEqual(try report.readAll(), "forked child's handler\nprogram's handler in \(program.pid!)\n")
    }

    /// A main program (here a `forkProcess` child, whose runtime state is a fresh main program's)
    /// runs its handlers when it ends through the C library's `exit`, as a program returning from
    /// `main` does.
    func testAMainProgramRunsItsHandlersAtExit() throws {
        let report = try ReportPipe()
        switch try forkProcess() {
        case .child:
            atProcessExit { report.write("main program's handler\n") }
            exit(5)
        case .parent(let pid):
            XCTAssertEqual(try waitForProcess(pid), .exited(5))
            XCTAssertEqual(try report.readAll(), "main program's handler\n")
        }
    }

    /// The documented limit: a C `atexit` handler that a child registers does not run when the child
    /// returns (the child ends with `_exit`); `atProcessExit` is the way.
    func testCAtexitHandlerOfAChildDoesNotRun() throws {
        let report = try ReportPipe()
        let child = ChildProcess {
            cHandlerReportFd = report.writeEnd
            atexit { ProcessIO.writeAll("C handler\n", to: cHandlerReportFd) }
            atProcessExit { report.write("runtime handler\n") }
        }
        try child.start()
        XCTAssertTrue(try child.join(timeout: .seconds(60)))
        XCTAssertEqual(try report.readAll(), "runtime handler\n")
    }
}
