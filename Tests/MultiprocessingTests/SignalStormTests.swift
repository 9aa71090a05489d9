import CMultiprocessingShims
import Glibc
import XCTest

@testable import Multiprocessing

/// SIGUSR1 storms (a handler without SA_RESTART, so every delivery is an EINTR) during the blocking
/// operations that the per-primitive storm tests do not cover: a blocking join, barrier rounds, timed
/// Lock/RLock acquires, and pipe traffic between two stormed processes. Nothing is lost, timeouts
/// are kept (at least the timeout, less than the timeout + 2 s).
final class SignalStormTests: XCTestCase {
    // Caught in the test process, so every child inherits the handler from its first instruction:
    // a storm that reached a child before it installed one would kill it (SIGUSR1's default).
    override func setUp() {
        XCTAssertEqual(mp_signal_catch_and_ignore(SIGUSR1), 0)
    }

    override func tearDown() {
        _ = mp_signal_default(SIGUSR1)
    }

    /// A process that sends SIGUSR1 to each of `targets` every 100 µs until it is killed.
    private func startStorm(_ targets: [pid_t]) throws -> ChildProcess {
        let storm = ChildProcess(daemon: true) {
            while true {
                for target in targets { kill(target, SIGUSR1) }
                Sys.sleep(for: .microseconds(100))
            }
        }
        try storm.start()
        return storm
    }

    private func stop(_ storm: ChildProcess) throws {
        try storm.kill()
        try storm.join()
    }

    /// A join without a timeout sleeps in waitid; signals must not make it return early.
    func testBlockingJoinIsNotCutShort() throws {
        let child = ChildProcess { Sys.sleep(for: .milliseconds(300)) }
        let storm = try startStorm([getpid()])
        try child.start()
        let (_, waited) = try timed { try child.join() }
        try stop(storm)
        XCTAssertEqual(child.exitCode, 0)
        XCTAssertFalse(child.isAlive)
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(250))
    }

    /// Three stormed processes pass 300 barrier rounds: every round completes, the action runs once
    /// per round, and a lone timed wait keeps its timeout.
    func testBarrierRoundsLoseNothing() throws {
        let rounds = 300
        let actions = try RawSharedValue<Int>(0)
        let barrier = try Barrier(parties: 3, action: { actions.value += 1 })
        let report = try ReportPipe()
        let members = (0..<3).map { _ in
            ChildProcess {
                catchSignalWithoutRestart(SIGUSR1)
                var zeros = 0
                for _ in 0..<rounds where try barrier.wait() == 0 { zeros += 1 }
                report.write("\(zeros)\n")
            }
        }
        for member in members { try member.start() }
        let storm = try startStorm(members.map { $0.pid! })
        for member in members { try member.join(timeout: .seconds(60)) }
        try stop(storm)
        XCTAssertEqual(members.map(\.exitCode), [0, 0, 0])
        let zeros = try report.readAll().split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(zeros.reduce(0, +), rounds, "exactly one waiter per round gets index 0")
        XCTAssertEqual(actions.value, rounds)

        let lone = try Barrier(parties: 2)
        let timing = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            let (result, waited) = timed {
                Result { () throws(SyncError) in try lone.wait(timeout: .milliseconds(300)) }
            }
            timing.write(
                "\(result == .failure(.brokenBarrier)) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n"
            )
        }
        try waiter.start()
        let storm2 = try startStorm([waiter.pid!])
        try waiter.join(timeout: .seconds(10))
        try stop(storm2)
        XCTAssertEqual(try timing.readAll(), "true true true\n")
    }

    /// Timed acquires of a Lock and an RLock held elsewhere give up after the timeout, not before and
    /// not much after, however many signals arrive; then they succeed once the lock is free.
    func testTimedLockAndRLockAcquiresKeepTheirTimeout() throws {
        let lock = try Lock()
        let rlock = try RLock()
        lock.acquire()
        rlock.acquire()
        let report = try ReportPipe()
        let waiter = ChildProcess {
            catchSignalWithoutRestart(SIGUSR1)
            for (name, attempt) in [
                ("lock", { lock.acquire(timeout: .milliseconds(300)) }),
                ("rlock", { rlock.acquire(timeout: .milliseconds(300)) }),
            ] {
                let (acquired, waited) = timed(attempt)
                report.write("\(name) \(acquired) \(waited >= .milliseconds(300)) \(waited < .milliseconds(2300))\n")
            }
            report.write("timed out\n")
            lock.acquire()
            report.write("lock acquired\n")
        }
        try waiter.start()
        let storm = try startStorm([waiter.pid!])
        XCTAssertEqual(try report.readLine(), "lock false true true")
        XCTAssertEqual(try report.readLine(), "rlock false true true")
        XCTAssertEqual(try report.readLine(), "timed out")
        try lock.release()
        try waiter.join(timeout: .seconds(10))
        try stop(storm)
        try rlock.release()
        XCTAssertEqual(waiter.exitCode, 0)
        XCTAssertEqual(try report.readAll(), "lock acquired\n")
    }

    /// Two stormed children stream 5,000 messages of mixed sizes to each other, both ways at once:
    /// each checks every message in order.
    func testPipeTrafficBetweenStormedProcessesLosesNothing() throws {
        let count = 2_500
        let (left, right) = try Connection<FaultFrame>.makePipe(duplex: true)
        func talker(_ mine: Connection<FaultFrame>, _ other: Connection<FaultFrame>) -> ChildProcess {
            ChildProcess {
                other.close()
                catchSignalWithoutRestart(SIGUSR1)
                // Send from a plain thread while this one receives, so both directions flow at once.
                let sender = TestThread {
                    for seq in 0..<count { try? mine.send(FaultFrame.make(seq, salt: 7)) }
                }
                for seq in 0..<count {
                    let frame = try mine.receive()
                    if frame.seq != seq || !frame.isIntact { exitProcess(3) }
                }
                sender.join()
            }
        }
        let a = talker(left, right)
        let b = talker(right, left)
        try a.start()
        try b.start()
        left.close()
        right.close()
        let storm = try startStorm([a.pid!, b.pid!])
        try a.join(timeout: .seconds(60))
        try b.join(timeout: .seconds(60))
        try stop(storm)
        XCTAssertEqual([a.exitCode, b.exitCode], [0, 0], "3: a message out of order or corrupt")
    }

    /// A stormed producer and a stormed consumer pass 20,000 items through a queue of 8 (both block
    /// in put and get without a timeout), in order; JoinableQueue.join in the stormed test process
    /// returns only when every item is marked done.
    func testBlockingQueuePutGetAndJoinLoseNothing() throws {
        let count = 20_000
        let queue = try Queue<Int>(maxSize: 8)
        let producer = ChildProcess { for i in 0..<count { try queue.put(i) } }
        let consumer = ChildProcess {
            for i in 0..<count where try queue.get() != i { exitProcess(3) }
        }
        try producer.start()
        try consumer.start()
        let storm = try startStorm([producer.pid!, consumer.pid!])
        try producer.join(timeout: .seconds(60))
        try consumer.join(timeout: .seconds(60))
        try stop(storm)
        XCTAssertEqual([producer.exitCode, consumer.exitCode], [0, 0], "3: out of order")

        let tasks = try JoinableQueue<Int>()
        for i in 0..<200 { try tasks.put(i) }
        let worker = ChildProcess {
            for _ in 0..<200 {
                _ = try tasks.get()
                Sys.sleep(for: .microseconds(500))
                try tasks.taskDone()
            }
        }
        try worker.start()
        let storm2 = try startStorm([getpid(), worker.pid!])
        tasks.join()
        let unfinished = tasks.unfinishedTasks
        try stop(storm2)
        try worker.join(timeout: .seconds(10))
        XCTAssertEqual(unfinished, 0, "join returned before every task was done")
        XCTAssertEqual(worker.exitCode, 0)
    }

    /// The test process (the pool's owner, with its I/O thread) and the pool's workers are stormed
    /// while map and AsyncResult.get wait: every result arrives, and a timed get keeps its timeout.
    func testPoolMapAndGetUnderAStormLoseNothing() throws {
        let pool = try Pool<Int, Int>(processes: 2) { x in
            if x < 0 { Sys.sleep(for: .seconds(5)) }
            return x * x
        }
        let storm = try startStorm([getpid(), pool.processIDs.zygote] + pool.waitForWorkers())
        defer { try? stop(storm) }
        XCTAssertEqual(try pool.map(Array(0..<5_000), chunkSize: 7), (0..<5_000).map { $0 * $0 })
        let results = try (0..<500).map { try pool.applyAsync($0) }
        XCTAssertEqual(try results.map { try $0.get(timeout: .seconds(20)) }, (0..<500).map { $0 * $0 })
        let slow = try pool.applyAsync(-1)
        let (outcome, waited) = timed { Result { () throws(PoolError) in try slow.get(timeout: .milliseconds(300)) } }
        XCTAssertEqual(outcome, .failure(.timeout(.milliseconds(300))))
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(2300))
        pool.terminate()
        try pool.join()
    }
}
