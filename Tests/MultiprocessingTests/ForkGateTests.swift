import Glibc
import Synchronization
import XCTest

@testable import Multiprocessing

/// Types the Swift runtime has never seen: each `make` instantiates new generic metadata, which the
/// runtime does holding a lock of its metadata cache. A child forked at that instant inherits the
/// lock locked, and hangs the first time it instantiates a new type of the same kind.
enum FreshTypes {
    enum End {}
    struct Zero<T> {}
    struct One<T> {}

    static func make(_ n: UInt64, depth: Int = 24) -> Any.Type { descend(End.self, n, depth) }

    private static func descend<T>(_: T.Type, _ n: UInt64, _ depth: Int) -> Any.Type {
        if depth == 0 { return T.self }
        return n & 1 == 0 ? descend(Zero<T>.self, n >> 1, depth - 1) : descend(One<T>.self, n >> 1, depth - 1)
    }

    /// Numbers no other call has used (children use their own range).
    private static let counter = Atomic<UInt64>(1 << 32)
    static func makeSome(_ count: Int) {
        for _ in 0..<count { _ = make(counter.add(1, ordering: .relaxed).newValue) }
    }
}

/// Keeps a pool busy: each answer's callback, on the pool's I/O thread, instantiates new types and
/// submits the next task, until `stop()`.
private final class Churn: @unchecked Sendable {
    let pool: Pool<Int, Int>
    private let stopped = Atomic<Bool>(false)
    let callbacks = Atomic<Int>(0)

    init(pool: Pool<Int, Int>) { self.pool = pool }

    func submit() {
        if stopped.load(ordering: .relaxed) { return }
        _ = try? pool.applyAsync(
            1,
            onSuccess: { [self] _ in
                FreshTypes.makeSome(8)
                callbacks.add(1, ordering: .relaxed)
                submit()
            })
    }

    func stop() { stopped.store(true, ordering: .relaxed) }
}

/// A queue item whose decoding, when it runs on one of the runtime's threads (a waiting thread of
/// the async forms), instantiates new types.
private struct Churny: Codable, Sendable {
    let value: Int

    init(value: Int) { self.value = value }

    init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int.self)
        if ForkGate.isHeld { FreshTypes.makeSome(8) }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}

/// A lock that a thread of the helper program holds while the helper forks; the child's atfork
/// handler (a library re-initialising its state, say) takes it: the child hangs inside fork, before
/// its target, as a child does on any lock inherited locked.
nonisolated(unsafe) private let heldLock: UnsafeMutablePointer<pthread_mutex_t> = {
    let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(lock, nil)
    return lock
}()

/// Forking beside threads: the runtime's threads never leave a child a lock held (the fork gate),
/// the program's threads are warned about once, and a stuck child says where it stands.
final class ForkGateTests: XCTestCase {
    /// Starts `count` children that each instantiate a new type; returns the ones that did not end
    /// within a generous timeout (killed and reaped), and checks that the others exited 0.
    private func startChildren(_ count: Int, between: () throws -> Void = {}) throws -> [Int] {
        var hung: [Int] = []
        for index in 0..<count {
            try between()
            let n = UInt64(index + 1) << 40
            let child = ChildProcess { _ = FreshTypes.make(n) }
            try child.start()
            if try child.join(timeout: .seconds(20)) {
                XCTAssertEqual(child.exitCode, 0, child.diagnosis)
            } else {
                hung.append(index)
                try child.kill()
                try child.join()
            }
        }
        return hung
    }

    func testChildrenStartedWhileAPoolIsBusyAllRunTheirClosure() throws {
        let pool = try Pool(processes: 2) { (x: Int) -> Int in x + 1 }
        let churn = Churn(pool: pool)
        for _ in 0..<8 { churn.submit() }
        XCTAssertTrue(waitUntil { churn.callbacks.load(ordering: .relaxed) > 8 }, "the pool is busy")
        let hung = try startChildren(150)
        churn.stop()
        pool.close()
        try pool.join()
        XCTAssertEqual(hung, [], "children that never ended")
        XCTAssertGreaterThan(churn.callbacks.load(ordering: .relaxed), 150, "the callbacks ran all along")
    }

    func testChildrenStartedWhileTasksAwaitAQueueAllRun() throws {
        let queue = try Queue<Churny>()
        final class Counts: Sendable {
            let taken = Atomic<Int>(0)
            let finished = Atomic<Int>(0)
        }
        let counts = Counts()
        for _ in 0..<4 {
            Task {
                while let item = try? await queue.get(), item.value >= 0 { counts.taken.add(1, ordering: .relaxed) }
                counts.finished.add(1, ordering: .relaxed)
            }
        }
        // Every consumer suspended: each item is now taken, and decoded, on a waiting thread.
        XCTAssertTrue(waitUntil { AsyncWaits.shared.counts.waiters == 4 })
        XCTAssertTrue(waitUntil { ForkGate.runtimeThreads >= 1 }, "a waiting thread is one of the runtime's")
        let hung = try startChildren(150) { try queue.put(Churny(value: 1)) }
        XCTAssertTrue(waitUntil { counts.taken.load(ordering: .relaxed) == 150 })
        for _ in 0..<4 { try queue.put(Churny(value: -1)) }
        XCTAssertTrue(waitUntil { counts.finished.load(ordering: .relaxed) == 4 })
        XCTAssertEqual(hung, [], "children that never ended")
    }

    func testAThreadInTheGateNeverLeavesAChildALockedLock() throws {
        let stop = Atomic<Bool>(false)
        let turns = Atomic<Int>(0)
        let before = ForkGate.runtimeThreads
        let thread = try PlainThread(stackSize: 1 << 20) {
            // As a runtime thread does: in the gate while it works, out while it waits.
            ForkGate.threadBegan()
            defer { ForkGate.threadEnding() }
            while !stop.load(ordering: .relaxed) {
                FreshTypes.makeSome(8)
                turns.add(1, ordering: .relaxed)
                ForkGate.leave()
                sched_yield()
                ForkGate.enter()
            }
        }
        XCTAssertTrue(waitUntil { turns.load(ordering: .relaxed) > 0 })
        XCTAssertEqual(ForkGate.runtimeThreads, before + 1)
        let hung = try startChildren(150)
        stop.store(true, ordering: .relaxed)
        thread.join()
        XCTAssertEqual(hung, [], "children that never ended")
        XCTAssertEqual(ForkGate.runtimeThreads, before)
    }

    func testAChildStartedFromAPoolCallbackRuns() throws {
        // The callback runs on the pool's thread, which holds the gate: its fork does not wait for it.
        let pool = try Pool(processes: 1) { (x: Int) -> Int in x }
        let exitCode = Mutex<Int32?>(nil)
        let result = try pool.applyAsync(
            1,
            onSuccess: { _ in
                let child = ChildProcess { _ = FreshTypes.make(3 << 40) }
                guard (try? child.start()) != nil, (try? child.join(timeout: .seconds(20))) == true else { return }
                exitCode.withLock { $0 = child.exitCode }
            })
        XCTAssertEqual(try result.get(timeout: .seconds(30)), 1)
        XCTAssertEqual(exitCode.withLock { $0 }, 0)
        pool.close()
        try pool.join()
    }

    func testAForkDoesNotWaitForeverForARuntimeThreadThatKeepsTheGate() throws {
        // A runtime thread that does not park (a long callback, say) holds a fork up for at most
        // `ForkGate.patience`; then the fork goes ahead, and counts it among the threads to warn about.
        let lines = try warnings {
            let release = try ProcessIO.pipe()
            let keeper = try PlainThread(stackSize: 1 << 20) {
                ForkGate.threadBegan()
                defer { ForkGate.threadEnding() }
                _ = try? ProcessIO.read(release.read, upTo: 1)  // blocked, still in the gate
            }
            guard waitUntil({ ForkGate.runtimeThreads == 1 }) else { throw TestFailure() }
            let child = ChildProcess {}
            try child.start()
            guard try child.join(timeout: .seconds(60)), child.exitCode == 0 else { throw TestFailure() }
            ProcessIO.writeAll("!", to: release.write)
            keeper.join()
        }
        XCTAssertEqual(lines.count, 1, "\(lines)")
        XCTAssertTrue(lines.first?.contains("forked while it had 1 other thread;") == true, "\(lines)")
    }

    // MARK: The warning

    /// Runs `body` in a fresh helper process whose stderr is captured; returns the warning lines.
    private func warnings(_ body: @escaping @Sendable () throws -> Void) throws -> [String] {
        let stderr = try ReportPipe()
        let helper = ChildProcess {
            try ProcessIO.redirect(stderr.writeEnd, to: 2)
            try body()
        }
        try helper.start()
        let text = try stderr.readAll()
        try helper.join()
        XCTAssertEqual(helper.exitCode, 0, text)
        return text.split(separator: "\n").map(String.init).filter { $0.hasPrefix("Multiprocessing: warning:") }
    }

    /// A thread of the program's own, spinning (no lock, no call) until the body is done.
    private static func besideABusyThread(_ body: () throws -> Void) throws {
        let stop = Atomic<Bool>(false)
        let thread = try PlainThread(stackSize: 1 << 20) { while !stop.load(ordering: .relaxed) {} }
        defer {
            stop.store(true, ordering: .relaxed)
            thread.join()
        }
        try body()
    }

    /// Three children and a bare fork.
    private static func forkSeveralTimes() throws {
        for _ in 0..<3 {
            let child = ChildProcess {}
            try child.start()
            try child.join()
        }
        if case .parent(let pid) = try forkProcess() {
            _ = try waitForProcess(pid)
        } else {
            exitProcess(0)
        }
    }

    func testForkingBesideAThreadWarnsOncePerProcess() throws {
        let lines = try warnings { try Self.besideABusyThread(Self.forkSeveralTimes) }
        XCTAssertEqual(lines.count, 1, "\(lines)")
        let line = try XCTUnwrap(lines.first)
        XCTAssertTrue(line.contains("forked while it had 1 other thread;"), line)
        XCTAssertTrue(line.contains("MP_FORK_WARNING=0"), line)
    }

    func testTheWarningIsSilencedByTheEnvironmentOrByTheProperty() throws {
        let byEnvironment = try warnings {
            setenv("MP_FORK_WARNING", "0", 1)
            try Self.besideABusyThread(Self.forkSeveralTimes)
        }
        XCTAssertEqual(byEnvironment, [])
        let byProperty = try warnings {
            ChildProcess.forkWarningEnabled = false
            try Self.besideABusyThread(Self.forkSeveralTimes)
        }
        XCTAssertEqual(byProperty, [])
        XCTAssertTrue(ChildProcess.forkWarningEnabled, "set in the helper only")
    }

    func testTheRuntimesOwnThreadsAreNotWarnedAbout() throws {
        let lines = try warnings {
            // (In the helper, a failed check throws: the helper then exits 1 and prints it.)
            let pool = try Pool(processes: 1) { (x: Int) -> Int in x }
            guard try pool.apply(1) == 1, ForkGate.runtimeThreads == 1 else { throw TestFailure() }
            try Self.forkSeveralTimes()
            pool.close()
            try pool.join()
            guard ForkGate.runtimeThreads == 0 else { throw TestFailure() }
        }
        XCTAssertEqual(lines, [])
    }

    // MARK: A stuck child

    func testAChildStuckBeforeItsTargetSaysSo() throws {
        let report = try ReportPipe()
        let helper = ChildProcess {
            ChildProcess.forkWarningEnabled = false  // (the diagnosis counts the threads all the same)
            // A thread of the program holds the lock until told; the child's atfork handler takes it.
            pthread_mutex_lock(heldLock)
            let release = try ProcessIO.pipe()
            let holder = try PlainThread(stackSize: 1 << 20) {
                _ = try? ProcessIO.read(release.read, upTo: 1)
                pthread_mutex_unlock(heldLock)
            }
            _ = pthread_atfork(nil, nil) {
                pthread_mutex_lock(heldLock)
                pthread_mutex_unlock(heldLock)
            }
            let child = ChildProcess(name: "stuck") {}
            try child.start()
            let ended = try child.join(timeout: .milliseconds(300))
            report.write("ended \(ended)\nstarted \(String(describing: child.hasStartedRunning))\n\(child.diagnosis)\n")
            try child.kill()
            try child.join()
            report.write("after \(String(describing: child.hasStartedRunning))\n\(child.diagnosis)\n")
            ProcessIO.writeAll("!", to: release.write)
            holder.join()
        }
        try helper.start()
        let lines = try report.readAll().split(separator: "\n").map(String.init)
        try helper.join()
        XCTAssertEqual(helper.exitCode, 0)
        XCTAssertEqual(lines.count, 5, "\(lines)")
        guard lines.count == 5 else { return }
        XCTAssertEqual(lines[0], "ended false")
        XCTAssertEqual(lines[1], "started Optional(false)")
        XCTAssertTrue(
            lines[2].hasPrefix("stuck (pid ") && lines[2].contains(") has not begun running its target: it was forked ")
                && lines[2].contains("1 other thread, and may wait for ever for a lock one of them held then"),
            lines[2])
        XCTAssertEqual(lines[3], "after nil")
        XCTAssertTrue(lines[4].hasSuffix(") killed by signal 9 (SIGKILL)"), lines[4])
    }

    func testAChildBusyInItsTargetSaysSo() throws {
        let running = try ReportPipe()
        let child = ChildProcess(name: "busy") {
            running.write("running\n")
            while true { pause() }
        }
        XCTAssertNil(child.hasStartedRunning)
        XCTAssertEqual(child.diagnosis, "busy has not been started")
        try child.start()
        XCTAssertEqual(try ProcessIO.read(running.readEnd, upTo: 8), Array("running\n".utf8))
        XCTAssertFalse(try child.join(timeout: .milliseconds(50)))
        XCTAssertEqual(child.hasStartedRunning, true)
        XCTAssertTrue(child.diagnosis.contains(") is running its target"), child.diagnosis)
        try child.kill()
        try child.join()
        XCTAssertNil(child.hasStartedRunning, "reaped: the runtime no longer tracks it")
        XCTAssertEqual(child.diagnosis, "busy (pid \(child.pid!)) killed by signal 9 (SIGKILL)")
        XCTAssertEqual(currentProcess().hasStartedRunning, true)
        XCTAssertTrue(currentProcess().diagnosis.hasSuffix("is the calling process"))
        ProcessIO.close(running.readEnd)
        ProcessIO.close(running.writeEnd)
    }
}
