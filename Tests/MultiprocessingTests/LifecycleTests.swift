import Glibc
import XCTest

@testable import Multiprocessing

/// Exit handling, daemons, parent death, and leaks.
final class LifecycleTests: XCTestCase {
    /// A program (a child) starts a daemon, reports its pid, then ends as `end` says.
    private func daemonPidAfterProgram(ends end: @escaping () -> Never) throws -> (daemon: pid_t, program: ChildProcess)
    {
        let report = try ReportPipe()
        let program = ChildProcess {
            let daemon = ChildProcess(daemon: true) { while true { pause() } }
            try daemon.start()
            report.write("\(daemon.pid!)\n")
            end()
        }
        try program.start()
        try program.join()
        let pid = try XCTUnwrap(pid_t(report.readAll().trimmingCharacters()))
        return (pid, program)
    }

    func testDaemonDiesWhenTheParentExits() throws {
        let (daemon, program) = try daemonPidAfterProgram { exitProcess(0) }
        XCTAssertEqual(program.exitCode, 0)
        // The program joined its terminated daemon before exiting: it is already gone.
        XCTAssertTrue(becomesDead(daemon, within: .seconds(2)))
    }

    func testDaemonDiesWhenTheParentIsKilled() throws {
        let (daemon, program) = try daemonPidAfterProgram {
            kill(getpid(), SIGKILL)
            while true { pause() }
        }
        XCTAssertEqual(program.exitCode, -SIGKILL)
        XCTAssertTrue(becomesDead(daemon, within: .seconds(2)), "daemon \(daemon) survived its parent's SIGKILL")
    }

    func testNonDaemonChildIsJoinedAtExit() throws {
        let report = try ReportPipe()
        let program = ChildProcess {
            let worker = ChildProcess {
                ProcessIO.sleep(for: .milliseconds(100))
                report.write("worker done\n")
            }
            try worker.start()
            report.write("program's last line\n")
        }
        try program.start()
        try program.join()
        // The worker wrote before the program ended, so everything is in the pipe.
        XCTAssertEqual(try report.readAll(), "program's last line\nworker done\n")
    }

    func testThrowingTargetPrintsItsErrorOnStderr() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "it broke" } }
        let report = try ReportPipe()
        let child = ChildProcess(name: "breaker") {
            try ProcessIO.redirect(report.writeEnd, to: 2)
            throw Broken()
        }
        try child.start()
        try child.join()
        XCTAssertEqual(child.exitCode, 1)
        XCTAssertEqual(try report.readAll(), "Process breaker:\nit broke\n")
    }

    func testThousandStartJoinCyclesLeakNothing() throws {
        let descriptorsBefore = openDescriptorCount()
        for _ in 0..<1_000 {
            let process = ChildProcess {}
            try process.start()
            try process.join()
            XCTAssertEqual(process.exitCode, 0)
        }
        XCTAssertEqual(openDescriptorCount(), descriptorsBefore)
        XCTAssertEqual(zombieChildren(), [])
        XCTAssertEqual(activeChildren().count, 0)
    }

    func testJoinFromManyThreads() throws {
        let worker = ChildProcess { ProcessIO.sleep(for: .milliseconds(100)) }
        try worker.start()
        let threads = 4
        var handles: [pthread_t] = []
        for _ in 0..<threads {
            var handle = pthread_t()
            let box = Unmanaged.passRetained(worker)
            pthread_create(
                &handle, nil,
                { raw in
                    let process = Unmanaged<ChildProcess>.fromOpaque(raw!).takeRetainedValue()
                    _ = try? process.join()
                    return nil
                }, box.toOpaque())
            handles.append(handle)
        }
        for handle in handles { pthread_join(handle, nil) }
        XCTAssertEqual(worker.exitCode, 0)
        XCTAssertEqual(zombieChildren(), [])
    }
}

extension String {
    func trimmingCharacters() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
