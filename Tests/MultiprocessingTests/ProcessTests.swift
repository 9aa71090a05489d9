import CMultiprocessingShims
import Glibc
import XCTest

@testable import Multiprocessing

final class ProcessTests: XCTestCase {
    func testExitCodesForReturnThrowExitTerminateAndKill() throws {
        let returns = ChildProcess {}
        let throwsError = ChildProcess { throw TestFailure() }
        let exits = ChildProcess { exitProcess(7) }
        let terminated = ChildProcess { while true { pause() } }
        let killed = ChildProcess { while true { pause() } }
        let all = [returns, throwsError, exits, terminated, killed]
        for process in all { try process.start() }
        try terminated.terminate()
        try killed.kill()
        for process in all { try process.join() }
        XCTAssertEqual(all.map(\.exitCode), [0, 1, 7, -SIGTERM, -SIGKILL])
        XCTAssertTrue(all.allSatisfy { !$0.isAlive })
    }

    func testExitCodeIsNilWhileRunningAndBeforeStart() throws {
        let worker = ChildProcess { while true { pause() } }
        XCTAssertNil(worker.exitCode)
        XCTAssertNil(worker.pid)
        try worker.start()
        XCTAssertNil(worker.exitCode)
        XCTAssertTrue(worker.isAlive)
        XCTAssertNotNil(worker.pid)
        try worker.kill()
        try worker.join()
        XCTAssertEqual(worker.exitCode, -SIGKILL)
    }

    func testJoinWithTimeoutReturnsWhileTheChildRuns() throws {
        let worker = ChildProcess { while true { pause() } }
        try worker.start()
        defer {
            try? worker.kill()
            _ = try? worker.join()
        }
        let started = ContinuousClock.now
        try worker.join(timeout: .milliseconds(200))
        let waited = ContinuousClock.now - started
        XCTAssertTrue(worker.isAlive)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(200))
        XCTAssertLessThan(waited, .milliseconds(200) + .seconds(2), "join(timeout:) overran by \(waited)")

        for timeout in [Duration.zero, .milliseconds(-5)] {
            let again = ContinuousClock.now
            try worker.join(timeout: timeout)
            XCTAssertLessThan(ContinuousClock.now - again, .seconds(1))
        }
    }

    func testSignalStormDoesNotCutJoinShort() throws {
        XCTAssertEqual(mp_signal_catch_and_ignore(SIGUSR1), 0)
        defer { _ = mp_signal_default(SIGUSR1) }
        let target = getpid()
        let blocked = ChildProcess { while true { pause() } }
        let storm = ChildProcess {
            for _ in 0..<2_000 {
                kill(target, SIGUSR1)
                ProcessIO.sleep(for: .microseconds(100))
            }
        }
        try blocked.start()
        try storm.start()
        let started = ContinuousClock.now
        try blocked.join(timeout: .milliseconds(300))
        let waited = ContinuousClock.now - started
        XCTAssertTrue(blocked.isAlive)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(300) + .seconds(2))
        try storm.kill()
        try storm.join()
        try blocked.kill()
        try blocked.join()
        XCTAssertEqual(blocked.exitCode, -SIGKILL)
    }

    func testJoinWithoutPidfdFallsBackToPollingWaitpid() throws {
        let descriptorsBefore = openDescriptorCount()
        let blocked = ChildProcess { while true { pause() } }
        blocked.usesPidfd = false
        try blocked.start()
        XCTAssertEqual(openDescriptorCount(), descriptorsBefore, "no pidfd was opened")
        let started = ContinuousClock.now
        try blocked.join(timeout: .milliseconds(100))
        let waited = ContinuousClock.now - started
        XCTAssertTrue(blocked.isAlive)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(100))
        XCTAssertLessThan(waited, .milliseconds(100) + .seconds(2))
        try blocked.kill()
        try blocked.join()
        XCTAssertEqual(blocked.exitCode, -SIGKILL)

        let quick = ChildProcess { exitProcess(4) }
        try quick.start()
        try quick.join()
        XCTAssertEqual(quick.exitCode, 4)
    }

    func testJoinWithTimeoutReturnsAsSoonAsTheChildEnds() throws {
        let worker = ChildProcess { ProcessIO.sleep(for: .milliseconds(50)) }
        try worker.start()
        let started = ContinuousClock.now
        try worker.join(timeout: .seconds(30))
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(10))
        XCTAssertEqual(worker.exitCode, 0)
    }

    func testMisuseThrowsTypedErrors() throws {
        let worker = ChildProcess(name: "w") {}
        XCTAssertThrowsError(try worker.join()) {
            XCTAssertEqual($0 as? ProcessError, .notStarted(name: "w", operation: .join))
        }
        XCTAssertThrowsError(try worker.terminate()) {
            XCTAssertEqual($0 as? ProcessError, .notStarted(name: "w", operation: .terminate))
        }
        XCTAssertThrowsError(try worker.kill()) {
            XCTAssertEqual($0 as? ProcessError, .notStarted(name: "w", operation: .kill))
        }
        XCTAssertEqual(
            ProcessError.notStarted(name: "w", operation: .terminate).description,
            "cannot terminate w: it has not been started")
        try worker.setDaemon(true)
        try worker.setDaemon(false)
        try worker.start()
        XCTAssertThrowsError(try worker.start()) { XCTAssertEqual($0 as? ProcessError, .alreadyStarted(name: "w")) }
        XCTAssertThrowsError(try worker.setDaemon(true)) {
            XCTAssertEqual($0 as? ProcessError, .daemonAfterStart(name: "w"))
        }
        try worker.join()
        XCTAssertNoThrow(try worker.terminate(), "signalling an ended process is not an error")
        XCTAssertNoThrow(try worker.kill())
        XCTAssertThrowsError(try currentProcess().join()) {
            XCTAssertEqual($0 as? ProcessError, .cannotJoinCurrentProcess)
        }
    }

    func testMisuseInsideAChild() throws {
        let report = try ReportPipe()
        let sibling = ChildProcess {}
        try sibling.start()
        let daemon = ChildProcess(daemon: true) {
            do {
                try ChildProcess {}.start()
                report.write("started a child\n")
            } catch {
                report.write("\(error)\n")
            }
            do {
                try sibling.join()
                report.write("joined a sibling\n")
            } catch {
                report.write("\(error)\n")
            }
        }
        try daemon.start()
        try daemon.join()
        try sibling.join()
        let lines = try report.readAll().split(separator: "\n").map(String.init)
        XCTAssertEqual(
            lines,
            [
                ProcessError.daemonicProcessCannotStartChildren(name: daemon.name).description,
                ProcessError.notOwnedByThisProcess(name: sibling.name, operation: .join).description,
            ])
    }

    func testNamesAndCurrentProcess() throws {
        XCTAssertEqual(currentProcess().name, "MainProcess")
        XCTAssertEqual(currentProcess().pid, getpid())
        let report = try ReportPipe()
        let parent = ChildProcess {
            let me = currentProcess()
            report.write("\(me.name) \(me.pid == getpid())\n")
            let grandchild = ChildProcess { report.write("\(currentProcess().name)\n") }
            try grandchild.start()
            try grandchild.join()
        }
        let named = ChildProcess(name: "custom") { report.write("\(currentProcess().name)\n") }
        try parent.start()
        try parent.join()
        try named.start()
        try named.join()
        let lines = try report.readAll().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines, ["\(parent.name) true", "\(parent.name):1", "custom"])
        XCTAssertTrue(parent.name.hasPrefix("Process-"))
    }

    func testSubclassRun() throws {
        final class Exiter: ChildProcess, @unchecked Sendable {
            let code: Int32
            init(code: Int32) {
                self.code = code
                super.init()
            }
            override func run() throws { exitProcess(code) }
        }
        let process = Exiter(code: 42)
        try process.start()
        try process.join()
        XCTAssertEqual(process.exitCode, 42)
    }

    func testChildStdinIsDevNull() throws {
        let child = ChildProcess {
            var byte: UInt8 = 0
            exitProcess(read(0, &byte, 1) == 0 ? 0 : 1)  // end of file at once
        }
        try child.start()
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
    }

    func testActiveChildrenAndCpuCount() throws {
        XCTAssertGreaterThanOrEqual(cpuCount(), 1)
        let workers = (0..<3).map { _ in ChildProcess { while true { pause() } } }
        for worker in workers { try worker.start() }
        XCTAssertEqual(Set(activeChildren().map(ObjectIdentifier.init)), Set(workers.map(ObjectIdentifier.init)))
        for worker in workers { try worker.kill() }
        XCTAssertTrue(workers.allSatisfy { becomesDead($0.pid!, within: .seconds(10)) })
        XCTAssertEqual(activeChildren().count, 0)
        XCTAssertEqual(zombieChildren(), [], "activeChildren() must reap")
        XCTAssertEqual(workers.map(\.exitCode), [-SIGKILL, -SIGKILL, -SIGKILL])
    }

    func testForkProcessAndWait() throws {
        switch try forkProcess() {
        case .child:
            exitProcess(currentProcess().name == "MainProcess" && currentProcess().pid == getpid() ? 5 : 6)
        case .parent(let pid):
            XCTAssertEqual(try waitForProcess(pid), .exited(5))
        }
        guard case .parent(let pid) = try forkProcess() else { while true { pause() } }
        kill(pid, SIGTERM)
        XCTAssertEqual(try waitForProcess(pid), .signaled(SIGTERM))
        XCTAssertThrowsError(try waitForProcess(pid)) { XCTAssertEqual(($0 as? SystemError)?.errno, ECHILD) }
    }

    /// The observer hears every fork the runtime makes, in the process that forked, and a forked
    /// child keeps it. Installed in a throwaway child, so the test process keeps no observer.
    func testTheForkObserverHearsEveryForkAndChildrenInheritIt() throws {
        let report = try ReportPipe()
        let writeEnd = report.writeEnd
        switch try forkProcess() {
        case .child:
            ProcessTable.install(ForkObserver { child in ProcessIO.writeAll("observed \(child)\n", to: writeEnd) })
            let started = ChildProcess {
                // The grandchild is forked by the child: heard by the child's inherited observer.
                guard case .parent(let grandchild) = try forkProcess() else { exitProcess(0) }
                report.write("forked \(grandchild)\n")
                _ = try waitForProcess(grandchild)
            }
            try? started.start()
            report.write("started \(started.pid ?? -1)\n")
            _ = try? started.join()
            exitProcess(0)
        case .parent(let pid):
            let lines = try report.readAll().split(separator: "\n").map(String.init)
            XCTAssertEqual(try waitForProcess(pid), .exited(0))
            let observed = lines.filter { $0.hasPrefix("observed ") }.map { $0.dropFirst("observed ".count) }
            let made = lines.filter { !$0.hasPrefix("observed ") }.map { $0.split(separator: " ").last ?? "" }
            XCTAssertEqual(made.count, 2, "the child started one process, which forked one: \(lines)")
            XCTAssertEqual(Set(observed), Set(made), "every fork was observed, once: \(lines)")
            XCTAssertEqual(observed.count, made.count, "\(lines)")
        }
    }
}
