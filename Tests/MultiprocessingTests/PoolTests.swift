import Glibc
import MultiprocessingTestSupport
import XCTest

@testable import Multiprocessing

/// The pool's API: results and their order, arguments, AsyncResult, callbacks, async forms,
/// close/join/terminate, and leaks. Faults (dying workers, a dying parent) are in PoolFaultTests.
final class PoolTests: XCTestCase {
    struct Odd: Error, CustomStringConvertible {
        let value: Int
        var description: String { "\(value) is odd" }
    }

    func testApplyAndApplyAsync() throws {
        let pool = try Pool(processes: 3) { (x: Int) -> Int in x * x }
        XCTAssertEqual(pool.processes, 3)
        XCTAssertEqual(try pool.apply(4), 16)
        let result = try pool.applyAsync(5)
        XCTAssertEqual(try result.get(timeout: .seconds(10)), 25)
        XCTAssertTrue(result.isReady)
        XCTAssertTrue(try result.isSuccessful)
        XCTAssertEqual(try result.get(), 25, "a result can be read again")
        pool.close()
        try pool.join()
    }

    func testMapAndImapKeepOrderAndImapUnorderedIsCompleteOn10000Items() throws {
        let pool = try Pool(processes: 3) { (x: Int) -> Int in x * 2 }
        let inputs = Array(0..<10_000)
        let expected = inputs.map { $0 * 2 }
        XCTAssertEqual(try pool.map(inputs), expected)
        XCTAssertEqual(try pool.map(inputs, chunkSize: 1), expected)
        XCTAssertEqual(try pool.map(inputs, chunkSize: 7), expected)
        XCTAssertEqual(try pool.imap(inputs).map { try $0.get() }, expected)
        XCTAssertEqual(try pool.imap(inputs, chunkSize: 64).map { try $0.get() }, expected)
        for chunkSize in [1, 64] {
            let unordered = try pool.imapUnordered(inputs, chunkSize: chunkSize).map { try $0.get() }
            XCTAssertEqual(unordered.count, inputs.count)
            XCTAssertEqual(unordered.sorted(), expected, "every output exactly once")
        }
        pool.close()
        try pool.join()
    }

    func testEmptyInput() throws {
        let pool = try Pool(processes: 2) { (x: Int) -> Int in x }
        XCTAssertEqual(try pool.map([Int]()), [])
        XCTAssertEqual(try pool.mapAsync([Int]()).get(timeout: .zero), [])
        XCTAssertEqual(Array(try pool.imap([Int]())).count, 0)
        XCTAssertEqual(Array(try pool.imapUnordered([Int]())).count, 0)
        pool.close()
        XCTAssertThrowsError(try pool.map([Int]())) {
            XCTAssertEqual($0 as? PoolError, .notRunning(operation: .map, state: .closed))
        }
        try pool.join()
    }

    func testInvalidArgumentsThrow() throws {
        XCTAssertThrowsError(try Pool(processes: 0) { (x: Int) in x }) {
            XCTAssertEqual($0 as? PoolError, .invalidProcessCount(0))
        }
        XCTAssertThrowsError(try Pool(processes: -2) { (x: Int) in x }) {
            XCTAssertEqual($0 as? PoolError, .invalidProcessCount(-2))
        }
        XCTAssertThrowsError(try Pool(processes: 1, maxTasksPerChild: 0) { (x: Int) in x }) {
            XCTAssertEqual($0 as? PoolError, .invalidMaxTasksPerChild(0))
        }
        let pool = try Pool(processes: 1) { (x: Int) in x }
        XCTAssertThrowsError(try pool.map([1], chunkSize: 0)) { XCTAssertEqual($0 as? PoolError, .invalidChunkSize(0)) }
        XCTAssertThrowsError(try pool.imap([1], chunkSize: -1)) {
            XCTAssertEqual($0 as? PoolError, .invalidChunkSize(-1))
        }
        XCTAssertEqual(PoolError.invalidProcessCount(0).description, "a pool needs at least 1 process, not 0")
        XCTAssertEqual(try Pool { (x: Int) in x }.processes, cpuCount(), "nil means cpuCount()")
        pool.terminate()
    }

    func testGetTimeoutThrowsAfterAboutTheTimeout() throws {
        let gate = try Gate()
        let pool = try Pool(processes: 1) { (x: Int) -> Int in
            gate.wait()
            return x
        }
        let result = try pool.applyAsync(7)
        XCTAssertThrowsError(try result.isSuccessful) { XCTAssertEqual($0 as? PoolError, .notReady) }
        let started = ContinuousClock.now
        XCTAssertThrowsError(try result.get(timeout: .milliseconds(300))) {
            XCTAssertEqual($0 as? PoolError, .timeout(.milliseconds(300)))
        }
        let waited = ContinuousClock.now - started
        XCTAssertGreaterThanOrEqual(waited, .milliseconds(300))
        XCTAssertLessThan(waited, .milliseconds(2_300))
        XCTAssertFalse(result.wait(timeout: .milliseconds(50)))
        XCTAssertFalse(result.isReady)
        gate.signal()
        XCTAssertTrue(result.wait(timeout: .seconds(10)))
        XCTAssertEqual(try result.get(timeout: .zero), 7)
        pool.close()
        try pool.join()
    }

    func testMaxTasksPerChildChangesWorkerPids() throws {
        let pool = try Pool(processes: 1, maxTasksPerChild: 2) { (_: Int) -> Int32 in getpid() }
        let pids = try pool.map(0..<6, chunkSize: 1)
        XCTAssertEqual(pids.count, 6)
        XCTAssertEqual(Set(pids).count, 3, "a new worker every 2 tasks: \(pids)")
        for pair in stride(from: 0, to: 6, by: 2) {
            XCTAssertEqual(pids[pair], pids[pair + 1], "two tasks per worker, in order: \(pids)")
        }
        XCTAssertFalse(pids.contains(getpid()))
        pool.close()
        try pool.join()
    }

    func testInitializerRunsInEveryWorkerIncludingReplacements() throws {
        let report = try ReportPipe()
        let pool = try Pool(
            processes: 2, maxTasksPerChild: 1,
            initializer: {
                report.write("\(getpid())\n")
            }
        ) { (_: Int) -> Int32 in getpid() }
        let taskPids = Set(try pool.map(0..<6, chunkSize: 1))
        pool.close()
        try pool.join()
        let initialized = Set(try report.readAll().split(separator: "\n").compactMap { Int32($0) })
        XCTAssertEqual(taskPids.count, 6, "one worker per task")
        XCTAssertTrue(taskPids.isSubset(of: initialized), "tasks ran in \(taskPids), initializer in \(initialized)")
    }

    func testThrowingWorkFunctionReachesTheCallerAndThePoolStaysHealthy() throws {
        let pool = try Pool(processes: 2) { (x: Int) throws -> Int in
            if x % 2 == 1 { throw Odd(value: x) }
            return x
        }
        XCTAssertThrowsError(try pool.apply(3)) { error in
            guard case .taskFailed(let worker, let pid, let type, let description)? = error as? PoolError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(worker.hasPrefix("PoolWorker-"), worker)
            XCTAssertTrue(pool.processIDs.workers.contains(pid), "the pid of a worker of this pool: \(pid)")
            XCTAssertEqual(type, "Odd")
            XCTAssertEqual(description, "3 is odd")
            XCTAssertEqual("\(error)", "\(worker) (pid \(pid)): the work function threw Odd: 3 is odd")
        }
        XCTAssertEqual(try pool.apply(4), 4, "the pool stays healthy")
        // map is not fail-fast, and throws the first failure in input order.
        for chunkSize in [1, 3, 100] {
            XCTAssertThrowsError(try pool.map([2, 4, 5, 6, 7], chunkSize: chunkSize)) { error in
                guard case .taskFailed(_, _, _, let description)? = error as? PoolError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(description, "5 is odd")
            }
        }
        // imap fails only the inputs that threw, even inside a chunk.
        let outcomes = Array(try pool.imap([2, 3, 4, 5], chunkSize: 4))
        XCTAssertEqual(try outcomes[0].get(), 2)
        XCTAssertThrowsError(try outcomes[1].get())
        XCTAssertEqual(try outcomes[2].get(), 4)
        XCTAssertThrowsError(try outcomes[3].get())
        XCTAssertEqual(try pool.map([10, 12]), [10, 12])
        pool.close()
        try pool.join()
    }

    func testStarmapCallsTheFunctionWithEachTuple() throws {
        let pool = try Pool(processes: 2) { (word: String, times: Int) -> String in
            String(repeating: word, count: times)
        }
        XCTAssertEqual(try pool.starmap([("ab", 2), ("c", 3), ("", 5)]), ["abab", "ccc", ""])
        XCTAssertEqual(try pool.apply(PoolArguments("x", 4)), "xxxx")
        XCTAssertEqual(try pool.starmapAsync([("z", 1)]).get(), ["z"])
        pool.close()
        try pool.join()
    }

    func testCallbacksRunBeforeTheResultIsReady() throws {
        final class Log: @unchecked Sendable {
            let lock = LocalMutex()
            var lines: [String] = []
            func add(_ line: String) { lock.withLock { lines.append(line) } }
        }
        let log = Log()
        let pool = try Pool(processes: 2) { (x: Int) throws -> Int in
            if x < 0 { throw Odd(value: x) }
            return x + 1
        }
        let good = try pool.applyAsync(1, onSuccess: { log.add("success \($0)") }, onError: { log.add("error \($0)") })
        XCTAssertEqual(try good.get(), 2)
        XCTAssertEqual(log.lines, ["success 2"])
        let bad = try pool.applyAsync(-1, onSuccess: { log.add("success \($0)") }, onError: { _ in log.add("error") })
        XCTAssertThrowsError(try bad.get())
        XCTAssertFalse(try bad.isSuccessful)
        XCTAssertEqual(log.lines, ["success 2", "error"])
        let all = try pool.mapAsync([1, 2, 3], onSuccess: { log.add("map \($0)") })
        XCTAssertEqual(try all.get(), [2, 3, 4])
        XCTAssertEqual(log.lines.last, "map [2, 3, 4]")
        pool.close()
        try pool.join()
    }

    func testBlockingCallsFromACallbackThrowInsteadOfDeadlocking() throws {
        final class Box: @unchecked Sendable { var errors: [PoolError] = [] }
        let box = Box()
        let pool = try Pool(processes: 1) { (x: Int) -> Int in x }
        let poolReference = pool
        let result = try pool.applyAsync(
            1,
            onSuccess: { _ in
                // The callback runs on the pool's own thread: nothing can finish while it runs.
                do throws(PoolError) { _ = try poolReference.apply(2) } catch { box.errors.append(error) }
                do throws(PoolError) { _ = try poolReference.map([3]) } catch { box.errors.append(error) }
                do throws(PoolError) { _ = try poolReference.applyAsync(5).get() } catch { box.errors.append(error) }
                do throws(PoolError) {
                    for outcome in try poolReference.imap([6]) { _ = try outcome.get() }
                } catch { box.errors.append(error) }
            })
        XCTAssertEqual(try result.get(timeout: .seconds(10)), 1)
        XCTAssertEqual(
            box.errors,
            [
                .blockingCallInCallback(operation: .apply),
                .blockingCallInCallback(operation: .map),
                .blockingCallInCallback(operation: .getResult),
                .blockingCallInCallback(operation: .iterateResults),
            ])
        XCTAssertEqual(
            box.errors.map(\.description),
            [
                "cannot apply in a result callback: callbacks run on the pool's own thread",
                "cannot map in a result callback: callbacks run on the pool's own thread",
                "cannot get a result in a result callback: callbacks run on the pool's own thread",
                "cannot iterate results in a result callback: callbacks run on the pool's own thread",
            ])
        pool.close()
        try pool.join()
    }

    func testAsyncForms() async throws {
        let pool = try Pool(processes: 2) { (x: Int) throws -> Int in
            if x == 13 { throw Odd(value: 13) }
            return x * 10
        }
        let value = try await pool.applyAsync(4).value
        XCTAssertEqual(value, 40)
        var seen: [Int] = []
        let inputs = (0..<100).filter { $0 != 13 }
        for try await output in try pool.imapUnordered(inputs).values { seen.append(output) }
        XCTAssertEqual(seen.sorted(), inputs.map { $0 * 10 })
        var ordered: [Int] = []
        do {
            for try await output in try pool.imap(10..<20).values { ordered.append(output) }
            XCTFail("13 throws")
        } catch {
            XCTAssertEqual(ordered, [100, 110, 120], "values stops at the first failure, in order")
        }
        let failing = try pool.applyAsync(13)
        do {
            _ = try await failing.value
            XCTFail("13 throws")
        } catch {
            guard case .taskFailed(_, _, _, "13 is odd") = error else { return XCTFail("\(error)") }
        }
        pool.close()
        try pool.join()
    }

    func testCancellingAnAwaitDoesNotCancelTheTask() async throws {
        let gate = try Gate()
        let pool = try Pool(processes: 1) { (x: Int) -> Int in
            gate.wait()
            return x
        }
        let result = try pool.applyAsync(5)
        let waiter = Task { () async throws(PoolError) -> Int in try await result.value }
        waiter.cancel()
        do {
            _ = try await waiter.value
            XCTFail("cancelled")
        } catch {
            XCTAssertEqual(error as? PoolError, .cancelled)
        }
        gate.signal()
        let five = try await result.get(timeout: .seconds(10))
        XCTAssertEqual(five, 5)
        pool.close()
        try pool.join()
    }

    func testNoTaskWaitsBehindALongOneWhileAWorkerIsIdle() throws {
        let gate = try Gate()
        let pool = try Pool(processes: 2) { (x: Int) -> Int in
            if x < 0 { gate.wait() }
            return x
        }
        var round = 0
        while round < 5 || (pool.stolenTaskCount == 0 && round < 30) {
            round += 1
            // Tiny tasks make the pool send each worker several tasks ahead.
            XCTAssertEqual(try pool.map(0..<500, chunkSize: 1).count, 500)
            let long = try pool.applyAsync(-round)
            let short = try pool.imapUnordered(0..<40)
            // Every short task completes while the long one holds its worker: the ones that were sent
            // to that worker ahead of time are taken back by the idle one.
            XCTAssertEqual(try short.map { try $0.get() }.sorted(), Array(0..<40))
            XCTAssertFalse(long.isReady)
            gate.signal()
            XCTAssertEqual(try long.get(timeout: .seconds(10)), -round)
        }
        XCTAssertGreaterThan(pool.stolenTaskCount, 0, "short tasks sent ahead to the long one's worker were taken back")
        pool.close()
        try pool.join()
    }

    func testCloseJoinTerminateOrder() throws {
        let pool = try Pool(processes: 2) { (x: Int) -> Int in x }
        XCTAssertThrowsError(try pool.join()) { XCTAssertEqual($0 as? PoolError, .joinWhileRunning) }
        XCTAssertEqual(try pool.apply(1), 1, "a failed join changes nothing")
        let queued = try (0..<100).map { try pool.applyAsync($0) }
        pool.close()
        pool.close()  // again: nothing happens
        XCTAssertThrowsError(try pool.apply(1)) {
            XCTAssertEqual($0 as? PoolError, .notRunning(operation: .apply, state: .closed))
        }
        XCTAssertThrowsError(try pool.applyAsync(1)) {
            XCTAssertEqual("\($0)", "cannot applyAsync: the pool is closed")
        }
        XCTAssertThrowsError(try pool.imap([1])) {
            XCTAssertEqual($0 as? PoolError, .notRunning(operation: .imap, state: .closed))
        }
        try pool.join()
        try pool.join()  // again: returns at once
        XCTAssertEqual(try queued.map { try $0.get(timeout: .zero) }, Array(0..<100), "close lets queued work finish")
        pool.terminate()  // after join: nothing to do
        XCTAssertEqual(pool.processIDs.workers, [])

        let other = try Pool(processes: 1) { (x: Int) -> Int in x }
        other.terminate()
        XCTAssertThrowsError(try other.apply(1)) {
            XCTAssertEqual($0 as? PoolError, .notRunning(operation: .apply, state: .terminated))
        }
        try other.join()
    }

    func testTerminateWith10000QueuedTasksReturnsWithin2Seconds() throws {
        let gate = try Gate()
        let pool = try Pool(processes: 2) { (x: Int) -> Int in
            gate.wait()
            return x
        }
        let pids = pool.waitForWorkers()
        let zygote = pool.processIDs.zygote
        XCTAssertEqual(pids.count, 2)
        let results = try (0..<10_000).map { try pool.applyAsync($0) }
        let started = ContinuousClock.now
        pool.terminate()
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2))
        for result in results {
            XCTAssertThrowsError(try result.get(timeout: .zero)) { XCTAssertEqual($0 as? PoolError, .terminated) }
        }
        for pid in pids + [zygote] { XCTAssertNil(processState(pid), "pid \(pid) was reaped") }
        try pool.join()
        gate.signal(times: 2)
    }

    func testAPoolReleasedWhileRunningTerminatesItself() throws {
        let descriptors = openDescriptorCount()
        var pids: [pid_t] = []
        do {
            let pool = try Pool(processes: 2) { (x: Int) -> Int in x }
            pids = pool.waitForWorkers() + [pool.processIDs.zygote]
            XCTAssertEqual(try pool.apply(2), 2)
        }
        XCTAssertEqual(pids.count, 3)
        for pid in pids { XCTAssertNil(processState(pid), "pid \(pid) was reaped") }
        XCTAssertEqual(openDescriptorCount(), descriptors)
    }

    func testManyPoolsLeakNoDescriptorsNorZombies() throws {
        let descriptors = openDescriptorCount()
        for round in 0..<20 {
            let pool = try Pool(processes: 2) { (x: Int) -> Int in x + round }
            XCTAssertEqual(try pool.map(0..<10), (0..<10).map { $0 + round })
            if round % 2 == 0 {
                pool.close()
                try pool.join()
            } else {
                pool.terminate()
            }
        }
        XCTAssertEqual(openDescriptorCount(), descriptors)
        XCTAssertEqual(zombieChildren(), [])
    }

    func testTwoPoolsAtOnceDoNotHoldEachOthersDescriptors() throws {
        let first = try Pool(processes: 1) { (x: Int) -> Int in x }
        let second = try Pool(processes: 1) { (x: Int) -> String in "\(x)" }
        XCTAssertEqual(try first.apply(1), 1)
        XCTAssertEqual(try second.apply(2), "2")
        // The second zygote closed the first pool's descriptors: closing the first pool ends it.
        first.close()
        try first.join()
        XCTAssertEqual(try second.apply(3), "3")
        second.close()
        try second.join()
    }

    func testLargeInputsAndOutputsDoNotDeadlock() throws {
        // Each answer is bigger than a socket buffer, and the parent has more to send: a parent that
        // blocked on a write while a worker blocked on its answer would hang here.
        let pool = try Pool(processes: 2) { (text: String) -> String in text + text }
        let inputs = (0..<40).map { String(repeating: Character(UnicodeScalar(UInt8(65 + $0 % 26))), count: 300_000) }
        let outputs = try pool.map(inputs, chunkSize: 1)
        XCTAssertEqual(outputs.count, 40)
        for (input, output) in zip(inputs, outputs) { XCTAssertEqual(output, input + input) }
        let big = try pool.map(inputs, chunkSize: 20)
        XCTAssertEqual(big.map(\.count), Array(repeating: 600_000, count: 40))
        pool.close()
        try pool.join()
    }

    func testEnumInputsForSeveralKindsOfJob() throws {
        enum Job: Codable, Sendable {
            case square(Int)
            case shout(String)
        }
        let pool = try Pool(processes: 2) { (job: Job) -> String in
            switch job {
            case .square(let x): return "\(x * x)"
            case .shout(let text): return text.uppercased()
            }
        }
        XCTAssertEqual(try pool.map([.square(3), .shout("hi")]), ["9", "HI"])
        pool.close()
        try pool.join()
    }

    func testAPoolInheritedByAChildCannotBeUsedThere() throws {
        let pool = try Pool(processes: 1) { (x: Int) -> Int in x }
        let report = try ReportPipe()
        let child = ChildProcess {
            do throws(PoolError) {
                _ = try pool.apply(1)
                report.write("no error")
            } catch {
                report.write("\(error)")
            }
            pool.terminate()  // must not touch the parent's pool
        }
        try child.start()
        try child.join()
        XCTAssertEqual(try report.readAll(), "cannot apply: the pool belongs to the process that created it")
        XCTAssertEqual(try pool.apply(5), 5, "the parent's pool is untouched")
        pool.close()
        try pool.join()
    }
}
