import XCTest

@testable import Multiprocessing

/// The pool's scheduling decisions, with no process: `PoolScheduler` is a plain value, so every
/// rule (least loaded first, send-ahead depth, take-back, retire, stuck start-up, zygote
/// replacements, spawn failures at start and later, drain, deadlines, answer order) is checked on made-up events.
final class PoolSchedulerTests: XCTestCase {
    final class Job: SchedulableJob {
        var id: UInt64
        init(_ id: UInt64) { self.id = id }
    }

    typealias Scheduler = PoolScheduler<Job>
    let start = ContinuousClock.now

    private func makeScheduler(processes: Int, maxTasksPerChild: Int? = nil, started: Bool = true) -> Scheduler {
        var scheduler = Scheduler(
            .init(processes: processes, maxTasksPerChild: maxTasksPerChild, answerTimeout: .seconds(10)))
        for slot in 0..<processes {
            guard case .requestSpawn(slot, let number) = scheduler.requestSpawn(slot: slot, at: start) else {
                XCTFail("a spawn request")
                continue
            }
            XCTAssertTrue(scheduler.workerStarted(slot: slot, number: number, pid: Int32(100 + slot), at: start))
        }
        if started { _ = scheduler.checkStartingWorkers(at: start) { _ in .started } }
        return scheduler
    }

    private func queue(_ ids: ClosedRange<UInt64>) -> Deque<Job> {
        var queue = Deque<Job>()
        queue.append(contentsOf: ids.map { Job($0) })
        return queue
    }

    /// Answers the oldest job of `slot` as having run `nanoseconds`.
    @discardableResult
    private func answerOldest(_ scheduler: inout Scheduler, slot: Int, ranFor nanoseconds: UInt64) throws -> Job {
        let id = try XCTUnwrap(scheduler.workers[slot]?.inflight.first?.id)
        return try scheduler.answered(slot: slot, id: id, ranFor: nanoseconds)
    }

    func testTheLeastLoadedWorkerGetsTheNextJob() throws {
        var scheduler = makeScheduler(processes: 3)
        // Measured jobs of 100 µs: ten fit in the 1 ms budget.
        var first = queue(1...1)
        XCTAssertEqual(scheduler.assign(from: &first).map(\.slot), [0])
        try answerOldest(&scheduler, slot: 0, ranFor: 100_000)
        var jobs = queue(2...8)
        let slots = scheduler.assign(from: &jobs).map(\.slot)
        XCTAssertEqual(slots, [0, 1, 2, 0, 1, 2, 0], "each job to the first of the least loaded")
        XCTAssertTrue(jobs.isEmpty)
        let positions = scheduler.workers[0]!.inflight.elements.map(\.position)
        XCTAssertEqual(positions, [0, 1, 2], "each job in flight has its own claim word")
    }

    func testOneJobAheadUntilMeasuredThenTheBudgetCappedAt48() throws {
        var scheduler = makeScheduler(processes: 1)
        XCTAssertEqual(scheduler.depthLimit, 1, "nothing measured yet")
        var jobs = queue(1...5)
        XCTAssertEqual(scheduler.assign(from: &jobs).count, 1)
        XCTAssertEqual(jobs.count, 4, "the others wait in the queue")
        XCTAssertFalse(scheduler.hasSpareCapacity)
        try answerOldest(&scheduler, slot: 0, ranFor: 250_000)
        XCTAssertEqual(scheduler.depthLimit, 4, "1 ms of 250 µs jobs")
        XCTAssertEqual(scheduler.assign(from: &jobs).count, 4)
        var tiny = makeScheduler(processes: 1)
        var one = queue(1...1)
        _ = tiny.assign(from: &one)
        try answerOldest(&tiny, slot: 0, ranFor: 1)
        XCTAssertEqual(tiny.depthLimit, 48, "tiny jobs: capped below the 64 claim words")
        var many = queue(2...100)
        XCTAssertEqual(tiny.assign(from: &many).count, 48)
    }

    func testAWorkerAtMaxTasksPerChildGetsNoMore() throws {
        var scheduler = makeScheduler(processes: 2, maxTasksPerChild: 2)
        try answerOldestAfterAssigning(&scheduler, ids: 1...2)
        var jobs = queue(3...8)
        XCTAssertEqual(scheduler.assign(from: &jobs).map(\.slot), [0, 1], "one more each, then no more")
        XCTAssertEqual(scheduler.workers[0]!.sent, 2)
        XCTAssertEqual(scheduler.workers[1]!.sent, 2)
        XCTAssertEqual(jobs.count, 4, "no worker may take more: they wait for replacements")
        XCTAssertFalse(scheduler.hasSpareCapacity)
    }

    private func answerOldestAfterAssigning(_ scheduler: inout Scheduler, ids: ClosedRange<UInt64>) throws {
        var jobs = queue(ids)
        for assignment in scheduler.assign(from: &jobs) {
            try answerOldest(&scheduler, slot: assignment.slot, ranFor: 100_000)
        }
    }

    func testAnIdleWorkerTakesBackTheLastJobOfTheBusiest() throws {
        var scheduler = makeScheduler(processes: 3)
        var first = queue(1...1)
        _ = scheduler.assign(from: &first)
        try answerOldest(&scheduler, slot: 0, ranFor: 100_000)
        var jobs = queue(10...15)
        _ = scheduler.assign(from: &jobs)  // 2 each
        // Workers 1 and 2 finish; worker 0 still has 10 and 13.
        for slot in [1, 2] {
            try answerOldest(&scheduler, slot: slot, ranFor: 100_000)
            try answerOldest(&scheduler, slot: slot, ranFor: 100_000)
        }
        XCTAssertEqual(scheduler.idleSlots, [1, 2])
        let takeBack = try XCTUnwrap(scheduler.takeBack(for: 1))
        XCTAssertEqual(takeBack.victim, 0)
        XCTAssertEqual(takeBack.sent.id, 13, "the last one sent: the least likely to have started")
        // The claim swap succeeded; the job gets a new id before it is sent again.
        takeBack.sent.job.id = 99
        let assignment = scheduler.commit(takeBack)
        XCTAssertEqual(assignment.slot, 1)
        XCTAssertEqual(scheduler.workers[0]!.inflight.elements.map(\.id), [10])
        XCTAssertEqual(scheduler.workers[0]!.sent, 2, "a job taken back does not count for maxTasksPerChild")
        XCTAssertEqual(scheduler.workers[1]!.inflight.elements.map(\.id), [99])
        XCTAssertNil(scheduler.takeBack(for: 2), "no worker has two or more in flight")
    }

    func testARefusedTakeBackLeavesTheJobWhereItIs() throws {
        var scheduler = makeScheduler(processes: 3)
        var jobs = queue(1...1)
        _ = scheduler.assign(from: &jobs)
        try answerOldest(&scheduler, slot: 0, ranFor: 100_000)
        jobs = queue(2...4)
        _ = scheduler.assign(from: &jobs)
        try answerOldest(&scheduler, slot: 1, ranFor: 100_000)
        try answerOldest(&scheduler, slot: 2, ranFor: 100_000)
        XCTAssertEqual(scheduler.workers[0]!.inflight.count, 1)
        XCTAssertNil(scheduler.takeBack(for: 1), "one in flight: nothing to take back")
        jobs = queue(5...7)
        _ = scheduler.assign(from: &jobs)
        try answerOldest(&scheduler, slot: 1, ranFor: 100_000)
        try answerOldest(&scheduler, slot: 2, ranFor: 100_000)
        XCTAssertEqual(scheduler.workers[0]!.inflight.elements.map(\.id), [2, 7], "5 and 6 went to the idle ones")
        // The engine's swap fails (the worker started it): it moves on without committing.
        let refused = try XCTUnwrap(scheduler.takeBack(for: 1))
        XCTAssertEqual(scheduler.workers[refused.victim]!.inflight.count, 2, "nothing moved before commit")
        XCTAssertEqual(scheduler.takeBack(for: 2)?.sent.id, refused.sent.id, "the next idle worker tries the same")
    }

    func testRetireSplitsStartedFromUnstartedJobs() throws {
        var scheduler = makeScheduler(processes: 2)
        var jobs = queue(1...1)
        _ = scheduler.assign(from: &jobs)
        try answerOldest(&scheduler, slot: 0, ranFor: 100_000)
        jobs = queue(2...7)
        _ = scheduler.assign(from: &jobs)
        XCTAssertEqual(scheduler.workers[0]!.inflight.elements.map(\.id), [2, 4, 6])
        let (failed, unstarted) = scheduler.retire(slot: 0) { $0.id == 2 }
        XCTAssertEqual(failed.map(\.id), [2], "the job it was running fails")
        XCTAssertEqual(unstarted.map(\.id), [4, 6], "the others go back to the queue, in order")
        XCTAssertNil(scheduler.workers[0])
        XCTAssertEqual(scheduler.slot(ofPid: 101), 1)
        XCTAssertNil(scheduler.slot(ofPid: 100))
    }

    func testStuckStartsAreKilledThenTheZygoteReplacedThenThePoolBroken() {
        var scheduler = makeScheduler(processes: 2, started: false)
        let later = start + .seconds(10)
        XCTAssertEqual(scheduler.checkStartingWorkers(at: start + .seconds(9)) { _ in .starting }, [])
        XCTAssertEqual(
            scheduler.checkStartingWorkers(at: later) { _ in .starting },
            [.kill(pid: 100), .kill(pid: 101), .replaceZygote], "two stuck in a row: the zygote is to blame")
        XCTAssertTrue(scheduler.workers[0]!.hasEnded, "the zygote now owes their death reports")
        for _ in 1...3 { XCTAssertNil(scheduler.beginZygoteReplacement()) }
        XCTAssertEqual(
            scheduler.beginZygoteReplacement(),
            .breakPool(
                reason: "its zygote process or its new workers kept getting stuck (3 zygotes replaced in a row)"))
    }

    func testAWorkerThatStartsResetsTheReplacementCount() {
        var scheduler = makeScheduler(processes: 1, started: false)
        for _ in 1...3 { XCTAssertNil(scheduler.beginZygoteReplacement()) }
        XCTAssertEqual(scheduler.checkStartingWorkers(at: start) { _ in .started }, [])
        for _ in 1...3 { XCTAssertNil(scheduler.beginZygoteReplacement(), "a working zygote starts a new count") }
    }

    func testAFailedSpawnWhileThePoolStartsFailsTheStartAndIsNotRetried() {
        var scheduler = Scheduler(.init(processes: 2, maxTasksPerChild: nil, answerTimeout: .seconds(10)))
        XCTAssertTrue(scheduler.isStarting)
        _ = scheduler.requestSpawn(slot: 0, at: start)
        _ = scheduler.requestSpawn(slot: 1, at: start)
        XCTAssertTrue(scheduler.workerStarted(slot: 0, number: 1, pid: 100, at: start))
        XCTAssertTrue(scheduler.isStarting, "slot 1 has not had a worker yet")
        XCTAssertEqual(scheduler.spawnFailed(slot: 1, at: start), .startFailed)
        XCTAssertFalse(scheduler.hasSpawnsToRetry, "a failed start is not retried")
        XCTAssertEqual(scheduler.spawnFailed(slot: 7, at: start), .retry, "a slot that does not exist is ignored")
    }

    func testAFailedReplacementWithNoWorkerFailsTheQueueAndIsRetriedOnlyWhenWanted() {
        var scheduler = makeScheduler(processes: 2)
        XCTAssertFalse(scheduler.isStarting, "every slot has had a worker")
        for slot in 0..<2 {
            _ = scheduler.retire(slot: slot) { _ in false }
            _ = scheduler.requestSpawn(slot: slot, at: start)
        }
        XCTAssertTrue(scheduler.isSpawning)
        XCTAssertEqual(scheduler.spawnFailed(slot: 0, at: start), .retry, "another spawn may still bring a worker")
        XCTAssertEqual(scheduler.spawnFailed(slot: 1, at: start), .retryWithNoWorker, "no worker, none coming")
        XCTAssertEqual(scheduler.spawnFailed(slot: 7, at: start), .retry, "a slot that does not exist is ignored")
        XCTAssertEqual(scheduler.pollDeadline(), start + .milliseconds(100))
        XCTAssertEqual(scheduler.retrySpawns(at: start + .milliseconds(99), wanted: true), [])
        XCTAssertEqual(
            scheduler.retrySpawns(at: start + .milliseconds(100), wanted: true),
            [.requestSpawn(slot: 0, number: 5), .requestSpawn(slot: 1, number: 6)])
        XCTAssertFalse(scheduler.hasSpawnsToRetry)
        _ = scheduler.spawnFailed(slot: 0, at: start)
        XCTAssertEqual(scheduler.retrySpawns(at: start + .seconds(1), wanted: false), [], "no work: dropped")
        XCTAssertFalse(scheduler.hasSpawnsToRetry)
    }

    func testDrainStopsIdleWorkersThenFinishes() throws {
        var scheduler = makeScheduler(processes: 2)
        var jobs = queue(1...1)
        _ = scheduler.assign(from: &jobs)
        XCTAssertEqual(scheduler.drain(), .stop(slots: [1]), "the idle one first")
        XCTAssertEqual(scheduler.drain(), .busy, "stop is sent once")
        XCTAssertFalse(scheduler.hasSpareCapacity, "a stopping worker takes nothing")
        try answerOldest(&scheduler, slot: 0, ranFor: 1)
        XCTAssertEqual(scheduler.drain(), .stop(slots: [0]))
        _ = scheduler.retire(slot: 0) { _ in false }
        _ = scheduler.retire(slot: 1) { _ in false }
        XCTAssertEqual(scheduler.drain(), .finished)
    }

    func testPollDeadlineIsTheOldestOwedAnswerPlusTheTimeout() {
        var scheduler = makeScheduler(processes: 2)
        XCTAssertNil(scheduler.pollDeadline(), "nothing owed: only events wake the thread")
        XCTAssertEqual(scheduler.streamEnded(slot: 1, at: start + .seconds(3)), 101)
        XCTAssertNil(scheduler.streamEnded(slot: 1, at: start + .seconds(4)), "once only")
        XCTAssertEqual(scheduler.pollDeadline(), start + .seconds(13))
        XCTAssertFalse(scheduler.zygoteAnswerIsOverdue(at: start + .seconds(12)))
        XCTAssertTrue(scheduler.zygoteAnswerIsOverdue(at: start + .seconds(13)))
    }

    func testAnAnswerOutOfOrderIsAProtocolViolation() throws {
        var scheduler = makeScheduler(processes: 1)
        var jobs = queue(1...1)
        _ = scheduler.assign(from: &jobs)
        try answerOldest(&scheduler, slot: 0, ranFor: 100_000)
        jobs = queue(2...3)
        _ = scheduler.assign(from: &jobs)
        XCTAssertThrowsError(try scheduler.answered(slot: 0, id: 3, ranFor: 1)) { error in
            XCTAssertEqual(
                (error as? ProtocolViolation)?.description, "an answer to job 3, which it was not running")
        }
        XCTAssertEqual(scheduler.workers[0]!.inflight.elements.map(\.id), [2, 3], "nothing was taken off")
        XCTAssertEqual(try scheduler.answered(slot: 0, id: 2, ranFor: 1).id, 2)
    }
}
