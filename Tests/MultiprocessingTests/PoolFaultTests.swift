import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// Faults, provoked for real: workers killed mid-task, crashing, exiting, corrupting their stream;
/// an initializer that throws; the zygote killed; the parent killed or interrupted.
final class PoolFaultTests: XCTestCase {
    /// The work of these tests: ordinary squares, or a fault in the worker.
    enum Job: Codable, Sendable {
        case square(Int)
        /// Reports the worker's pid (through the test's pipe), then waits for ever.
        case hang
        case exit(Int32)
        case signal(Int32)
        /// A real crash: an index out of range, which traps (and runs the Swift backtracer first).
        case crash
        /// Writes a well-formed frame that answers a job the worker is not running.
        case corrupt
    }

    /// A pipe the workers report to, made before the pool so that every worker inherits it.
    private var report: ReportPipe!

    override func setUp() {
        report = try! ReportPipe()
    }

    override func tearDown() {
        Sys.close(report.readEnd)
        Sys.close(report.writeEnd)
    }

    private func makePool(processes: Int = 2, tuning: PoolTuning = .standard) throws -> Pool<Job, Int> {
        let report = self.report!
        return try Pool(processes: processes, maxTasksPerChild: nil, initializer: nil, tuning: tuning) {
            (job: Job) -> Int in
            switch job {
            case .square(let x):
                return x * x
            case .hang:
                report.write("\(getpid())\n")
                while true { pause() }
            case .exit(let status):
                exitProcess(status)
            case .signal(let signal):
                kill(getpid(), signal)
                while true { pause() }
            case .crash:
                let devNull = open("/dev/null", O_WRONLY)
                dup2(devNull, 2)  // keep the backtrace out of the test log
                let empty: [Int] = []
                return empty[empty.count + 1]
            case .corrupt:
                var frame: [UInt8] = []
                withUnsafeBytes(of: UInt32(17)) { frame += $0 }
                frame.append(FrameKind.result.rawValue)
                withUnsafeBytes(of: UInt64(999_999_999)) { frame += $0 }
                withUnsafeBytes(of: UInt64(0)) { frame += $0 }
                for fd in Int32(3)..<256 {
                    var info = stat()
                    if fstat(fd, &info) == 0 && info.st_mode & S_IFMT == S_IFSOCK {
                        _ = frame.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    }
                }
                while true { pause() }
            }
        }
    }

    /// The next pid a `.hang` task reports, waiting up to 10 s.
    private func nextReportedPid() throws -> pid_t {
        try XCTUnwrap(pid_t(try readLine(from: report.readEnd)))
    }

    /// One line (without its newline) from a pipe, waiting up to `timeout`; throws if none comes.
    private func readLine(from fd: Int32, timeout: Duration = .seconds(10)) throws -> String {
        var line = ""
        let deadline = ContinuousClock.now + timeout
        while !line.hasSuffix("\n") {
            guard try Sys.waitReadable(fd, deadline: deadline) else { throw TestFailure() }
            let byte = try Sys.read(fd, upTo: 1)
            if byte.isEmpty { throw TestFailure() }  // end of file before a whole line
            line += String(decoding: byte, as: UTF8.self)
        }
        return String(line.dropLast())
    }

    private func assertWorkerDied(
        _ result: AsyncResult<Int>, pid: pid_t, status: ExitStatus,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertThrowsError(try result.get(timeout: .seconds(10)), file: file, line: line) { error in
            guard case .workerDied(let worker, let diedPid, let diedStatus)? = error as? PoolError else {
                return XCTFail("expected workerDied, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(worker.hasPrefix("PoolWorker-"), worker, file: file, line: line)
            XCTAssertEqual(diedPid, pid, file: file, line: line)
            XCTAssertEqual(diedStatus, status, file: file, line: line)
        }
    }

    func testWorkerKilledMidTaskFailsThatTaskWithin2SecondsAndTheNext100Succeed() throws {
        let pool = try makePool()
        let doomed = try pool.applyAsync(.hang)
        let pid = try nextReportedPid()
        XCTAssertEqual(kill(pid, SIGKILL), 0)
        let killed = ContinuousClock.now
        XCTAssertThrowsError(try doomed.get(timeout: .seconds(2))) { error in
            XCTAssertEqual(
                error as? PoolError, .workerDied(worker: "PoolWorker-1", pid: pid, status: .signaled(SIGKILL)))
            XCTAssertEqual(
                "\(error)", "PoolWorker-1 (pid \(pid)) was killed by signal 9 (SIGKILL) while running this task")
        }
        XCTAssertLessThan(ContinuousClock.now - killed, .seconds(2))
        let next = try (0..<100).map { try pool.applyAsync(.square($0)) }
        XCTAssertEqual(try next.map { try $0.get(timeout: .seconds(10)) }, (0..<100).map { $0 * $0 })
        XCTAssertFalse(pool.processIDs.workers.contains(pid), "replaced")
        XCTAssertEqual(pool.waitForWorkers().count, 2)
        pool.close()
        try pool.join()
    }

    func testExitAndCrashInsideTheWorkFunctionFailOnlyThatTask() throws {
        let pool = try makePool()
        XCTAssertThrowsError(try pool.applyAsync(.exit(3)).get(timeout: .seconds(20))) { error in
            guard case .workerDied(_, _, .exited(3)?)? = error as? PoolError else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasSuffix("exited with status 3 while running this task"), "\(error)")
        }
        XCTAssertThrowsError(try pool.applyAsync(.exit(0)).get(timeout: .seconds(20))) { error in
            guard case .workerDied(_, _, .exited(0)?)? = error as? PoolError else { return XCTFail("\(error)") }
        }
        // Not SIGSEGV: the Swift runtime's backtracer would catch it first and print for seconds.
        XCTAssertThrowsError(try pool.applyAsync(.signal(SIGUSR1)).get(timeout: .seconds(20))) { error in
            guard case .workerDied(_, _, .signaled(SIGUSR1)?)? = error as? PoolError else { return XCTFail("\(error)") }
        }
        let crash = try pool.applyAsync(.crash)
        XCTAssertThrowsError(try crash.get(timeout: .seconds(20))) { error in
            guard case .workerDied(_, _, let status?)? = error as? PoolError else { return XCTFail("\(error)") }
            switch status {
            case .signaled(SIGILL), .signaled(SIGTRAP): break
            // A sanitizer's handler takes the trap: ThreadSanitizer's ends in SIGSEGV, AddressSanitizer's exits 1.
            case .signaled(SIGSEGV) where underSanitizer, .exited(1) where underSanitizer: break
            default: XCTFail("\(error)")
            }
        }
        XCTAssertEqual(try pool.map((0..<50).map { Job.square($0) }), (0..<50).map { $0 * $0 })
        pool.close()
        try pool.join()
    }

    func testOtherTasksCompleteWhenAWorkerDies() throws {
        let pool = try makePool(processes: 3)
        var jobs = (0..<100).map { Job.square($0) }
        jobs[50] = .exit(7)
        let outcomes = Array(try pool.imap(jobs))
        XCTAssertEqual(outcomes.count, 100)
        for (index, outcome) in outcomes.enumerated() where index != 50 {
            XCTAssertEqual(try outcome.get(), index * index)
        }
        XCTAssertThrowsError(try outcomes[50].get()) { error in
            guard case .workerDied(_, _, .exited(7)?)? = error as? PoolError else { return XCTFail("\(error)") }
        }
        // map waits for everything, then throws that error.
        XCTAssertThrowsError(try pool.map(jobs, chunkSize: 1)) { error in
            guard case .workerDied(_, _, .exited(7)?)? = error as? PoolError else { return XCTFail("\(error)") }
        }
        pool.close()
        try pool.join()
    }

    func testTasksQueuedBehindTheDeadOneRunElsewhereInsteadOfFailing() throws {
        let pool = try makePool(processes: 1)
        // Tiny tasks make the pool queue several tasks per worker (it measures how long they take),
        // so the worker usually holds tasks behind the one that kills it; retry until it did.
        var attempts = 0
        while pool.requeuedTaskCount == 0 && attempts < 20 {
            attempts += 1
            XCTAssertEqual(try pool.map((0..<500).map { Job.square($0) }, chunkSize: 1).count, 500)
            let outcomes = Array(try pool.imap([Job.exit(9)] + (0..<40).map { Job.square($0) }))
            XCTAssertThrowsError(try outcomes[0].get()) { error in
                guard case .workerDied(_, _, .exited(9)?)? = error as? PoolError else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(
                try outcomes.dropFirst().map { try $0.get() }, (0..<40).map { $0 * $0 },
                "tasks the dead worker had not started are run by its replacement, not failed")
        }
        XCTAssertGreaterThan(pool.requeuedTaskCount, 0, "the dead worker held unstarted tasks in \(attempts) attempts")
        pool.close()
        try pool.join()
    }

    func testAWorkerKilledWhileIdleIsReplaced() throws {
        let pool = try makePool()
        let before = pool.waitForWorkers()
        XCTAssertEqual(before.count, 2)
        XCTAssertEqual(kill(before[0], SIGTERM), 0, "workers do not inherit the pool thread's blocked signals")
        let deadline = ContinuousClock.now + .seconds(10)
        while pool.processIDs.workers.contains(before[0]) || pool.processIDs.workers.count < 2 {
            guard ContinuousClock.now < deadline else { return XCTFail("the worker was not replaced") }
            Sys.sleep(for: .milliseconds(2))
        }
        XCTAssertEqual(try pool.map((0..<20).map { Job.square($0) }, chunkSize: 1), (0..<20).map { $0 * $0 })
        pool.close()
        try pool.join()
    }

    func testACorruptStreamFailsItsTaskAndTheWorkerIsReplaced() throws {
        let pool = try makePool(processes: 1)
        XCTAssertThrowsError(try pool.applyAsync(.corrupt).get(timeout: .seconds(20))) { error in
            guard case .broken(let reason)? = error as? PoolError else { return XCTFail("\(error)") }
            XCTAssertEqual(
                reason,
                "PoolWorker-1 sent a corrupt message (an answer to job 999999999, which it was not running) and was stopped"
            )
        }
        XCTAssertEqual(try pool.apply(.square(12)), 144)
        pool.close()
        try pool.join()
    }

    func testAThrowingInitializerFailsEveryTaskInsteadOfRespawningForever() throws {
        struct NoDatabase: Error, CustomStringConvertible { var description: String { "no database" } }
        let pool = try Pool(processes: 2, initializer: { throw NoDatabase() }) { (x: Int) -> Int in x }
        XCTAssertThrowsError(try pool.apply(1)) { error in
            guard case .initializerFailed(let worker, "no database")? = error as? PoolError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(worker.hasPrefix("PoolWorker-"))
        }
        XCTAssertThrowsError(try pool.applyAsync(2)) { error in
            guard case .initializerFailed? = error as? PoolError else { return XCTFail("\(error)") }
        }
        pool.close()
        try pool.join()
        XCTAssertEqual(zombieChildren(), [])
    }

    func testAKilledZygoteFailsPendingWorkInsteadOfHanging() throws {
        let pool = try makePool()
        let workers = pool.waitForWorkers()
        let pending = try pool.applyAsync(.hang)
        _ = try nextReportedPid()
        XCTAssertEqual(kill(pool.processIDs.zygote, SIGKILL), 0)
        XCTAssertThrowsError(try pending.get(timeout: .seconds(5))) { error in
            XCTAssertEqual(error as? PoolError, .broken(reason: "its zygote process ended"))
        }
        XCTAssertThrowsError(try pool.apply(.square(1))) {
            XCTAssertEqual($0 as? PoolError, .broken(reason: "its zygote process ended"))
        }
        for pid in workers {
            XCTAssertTrue(becomesDead(pid, within: .seconds(2)), "worker \(pid) died with its zygote")
        }
        try pool.join()
    }

    /// A start-up hook that makes the workers of the zygotes it names hang (a stuck worker).
    private static func hangAtStartUp(inZygotes hangs: @escaping @Sendable (Int) -> Bool) -> @Sendable (Int) -> Void {
        { zygote in
            if hangs(zygote) { while true { pause() } }
        }
    }

    /// A zygote that stops answering (SIGSTOPped here, so the death of a worker is never reported)
    /// is killed and replaced after `PoolTuning.answerTimeout`: the dead worker's task fails with
    /// `workerDied`, the zygote's other worker dies with it, and new workers take the next tasks.
    func testAZygoteThatStopsAnsweringIsReplaced() throws {
        let leftovers = Leftovers()
        let pool = try makePool(tuning: PoolTuning(answerTimeout: .seconds(2)))
        let workers = pool.waitForWorkers()
        let stoppedZygote = pool.processIDs.zygote
        let running = try pool.applyAsync(.hang)
        let victim = try nextReportedPid()
        XCTAssertEqual(kill(stoppedZygote, SIGSTOP), 0)
        XCTAssertEqual(kill(victim, SIGKILL), 0)
        let (outcome, waited) = timed { Result { () throws(PoolError) in try running.get(timeout: .seconds(10)) } }
        guard case .failure(.workerDied(_, let pid, .signaled(SIGKILL))) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(pid, victim)
        XCTAssertLessThan(waited, .seconds(5), "settled once the zygote was presumed stuck")
        XCTAssertNotEqual(pool.processIDs.zygote, stoppedZygote)
        XCTAssertNil(processState(stoppedZygote), "the stuck zygote was killed and reaped")
        for pid in workers {
            XCTAssertTrue(becomesDead(pid, within: .seconds(2)), "worker \(pid) died with its zygote")
        }
        XCTAssertEqual(try pool.map((0..<100).map { Job.square($0) }), (0..<100).map { $0 * $0 })
        pool.close()
        try pool.join()
        leftovers.assertNothingLeft("after a zygote replacement")
    }

    /// Workers that never finish starting (here: a start-up hook that waits for ever, in the
    /// first zygote's workers only) are killed after `PoolTuning.answerTimeout`; two in a row get
    /// their zygote replaced. The jobs sent to them had not started: they all complete elsewhere.
    func testWorkersStuckAtStartUpGetTheirZygoteReplaced() throws {
        let leftovers = Leftovers()
        let hook = Self.hangAtStartUp(inZygotes: { $0 == 1 })  // a new zygote's workers start
        let pool = try makePool(tuning: PoolTuning(answerTimeout: .seconds(2), workerStartup: hook))
        let poisonedZygote = pool.processIDs.zygote
        let mapped = try pool.mapAsync((0..<100).map { Job.square($0) })
        let (squares, waited) = try timed { try mapped.get(timeout: .seconds(20)) }
        XCTAssertEqual(squares, (0..<100).map { $0 * $0 }, "no job was lost or failed")
        XCTAssertLessThan(waited, .seconds(10))
        XCTAssertNotEqual(pool.processIDs.zygote, poisonedZygote)
        XCTAssertNil(processState(poisonedZygote), "the zygote was killed and reaped")
        pool.close()
        try pool.join()
        leftovers.assertNothingLeft("after workers stuck at start-up")
    }

    /// When the workers of every new zygote get stuck too (the start-up hook hangs in every zygote), the pool tries
    /// three replacements, then breaks with a typed error instead of trying for ever.
    func testAPoolWhoseWorkersAlwaysGetStuckBreaksAfterThreeReplacements() throws {
        let leftovers = Leftovers()
        let hook = Self.hangAtStartUp(inZygotes: { _ in true })
        let pool = try makePool(tuning: PoolTuning(answerTimeout: .milliseconds(300), workerStartup: hook))
        let mapped = try pool.mapAsync((0..<10).map { Job.square($0) })
        let (outcome, waited) = timed { Result { () throws(PoolError) in try mapped.get(timeout: .seconds(30)) } }
        guard case .failure(.broken(let reason)) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertTrue(reason.contains("3 zygotes replaced in a row"), reason)
        XCTAssertLessThan(waited, .seconds(20))
        XCTAssertThrowsError(try pool.apply(.square(1))) { XCTAssertEqual($0 as? PoolError, .broken(reason: reason)) }
        try pool.join()
        leftovers.assertNothingLeft("after a pool broke on stuck workers")
    }

    func testParentSIGKILLedLeavesNoPoolProcessAlive() throws {
        let pids = try ReportPipe()
        let makePool = self.makePool
        let program = ChildProcess {
            let pool = try makePool(2, .standard)
            let workers = pool.waitForWorkers()
            _ = try pool.applyAsync(.hang)  // one worker busy, one idle
            _ = try pool.applyAsync(.square(2))
            pids.write(([pool.processIDs.zygote] + workers).map(String.init).joined(separator: " ") + "\n")
            kill(getpid(), SIGKILL)
        }
        try program.start()
        Sys.close(pids.writeEnd)
        defer { Sys.close(pids.readEnd) }
        let line = try readLine(from: pids.readEnd)
        try program.join(timeout: .seconds(10))
        XCTAssertEqual(program.exitCode, -SIGKILL)
        let died = ContinuousClock.now
        let pool = line.split(separator: " ").compactMap { pid_t($0) }
        XCTAssertEqual(pool.count, 3, "the zygote and two workers")
        for pid in pool {
            XCTAssertTrue(
                becomesDead(pid, within: .seconds(2) - (ContinuousClock.now - died)), "pid \(pid) outlived its parent")
        }
    }

    func testCtrlCInTheParentStopsThePoolCleanly() throws {
        let pids = try ReportPipe()
        let stderr = try ReportPipe()
        let makePool = self.makePool
        let program = ChildProcess {
            setpgid(0, 0)  // its own process group, which a terminal's Ctrl-C would signal as a whole
            try Sys.redirect(stderr.writeEnd, to: 2)
            let pool = try makePool(2, .standard)
            let workers = pool.waitForWorkers()
            for _ in 0..<10 { _ = try pool.applyAsync(.hang) }
            pids.write(([pool.processIDs.zygote] + workers).map(String.init).joined(separator: " ") + "\n")
            while true { pause() }
        }
        try program.start()
        Sys.close(stderr.writeEnd)
        Sys.close(pids.writeEnd)
        let line = try readLine(from: pids.readEnd)
        let pool = line.split(separator: " ").compactMap { pid_t($0) }
        XCTAssertEqual(pool.count, 3)
        XCTAssertEqual(kill(-program.pid!, SIGINT), 0, "Ctrl-C: SIGINT to the whole foreground group")
        try program.join(timeout: .seconds(10))
        XCTAssertEqual(program.exitCode, -SIGINT)
        let survivors = pool.filter { !becomesDead($0, within: .seconds(2)) }
        XCTAssertEqual(survivors, [], "outlived Ctrl-C")
        if survivors.isEmpty {  // every writer of the pipe is dead: this reads to end of file at once
            let errors = String(decoding: try Sys.readToEnd(stderr.readEnd), as: UTF8.self)
            XCTAssertEqual(errors, "", "no flood of errors")
        }
        Sys.close(stderr.readEnd)
        Sys.close(pids.readEnd)
    }
}
