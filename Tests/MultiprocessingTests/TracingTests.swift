import Foundation
import XCTest

@testable import Multiprocessing

/// Tracing: one Trace Event Format file merged from every process, killed ones included.
final class TracingTests: XCTestCase {
    private func temporaryPath(_ name: String) -> String {
        "/tmp/trace-\(getpid())-\(name).json"
    }

    /// The file's `traceEvents`, parsed by Foundation (a real JSON parser, not ours).
    private func events(in path: String) throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try XCTUnwrap(object["traceEvents"] as? [[String: Any]])
    }

    private func pids(_ events: [[String: Any]], excludingMetadata: Bool = true) -> Set<Int> {
        Set(events.filter { !excludingMetadata || ($0["ph"] as? String) != "M" }.compactMap { $0["pid"] as? Int })
    }

    func testATracedRunHasEventsFromEveryProcess() throws {
        let path = temporaryPath("every")
        defer { unlink(path) }
        try Tracing.start(writingTo: path)
        XCTAssertTrue(Tracing.isActive)
        let lock = try Lock()
        let queue = try Queue<Int>()
        let (parentEnd, childEnd) = try Connection<String>.makePipe()
        let writers = (0..<2).map { number in
            ChildProcess {
                for _ in 0..<20 { lock.withLock { _ = number } }
                try queue.put(number)
            }
        }
        let talker = ChildProcess {
            try childEnd.send("ping")
            _ = try childEnd.receive()
        }
        for child in writers + [talker] { try child.start() }
        XCTAssertEqual(try parentEnd.receive(), "ping")
        try parentEnd.send("pong")
        let got = [try queue.get(), try queue.get()].sorted()
        let pool = try Pool(processes: 2) { (x: Int) -> Int32 in
            if x == 5 { throw CancellationError() }
            return getpid()
        }
        let workerPids = Set((0..<4).map { _ in try? pool.apply(1) }.compactMap { $0 })
        XCTAssertThrowsError(try pool.apply(5))
        pool.close()
        try pool.join()
        for child in writers + [talker] { try child.join() }
        let summary = try XCTUnwrap(try Tracing.stop())
        XCTAssertFalse(Tracing.isActive)
        XCTAssertEqual(got, [0, 1])
        XCTAssertEqual(summary.path, path)
        XCTAssertEqual(summary.droppedCount, 0)

        let events = try events(in: path)
        let seen = pids(events)
        for child in writers + [talker] { XCTAssertTrue(seen.contains(Int(try XCTUnwrap(child.pid))), "\(child.name)") }
        for pid in workerPids { XCTAssertTrue(seen.contains(Int(pid)), "worker \(pid)") }
        XCTAssertTrue(seen.contains(Int(getpid())))
        let names = Set(events.compactMap { $0["name"] as? String })
        for expected in ["hold Lock 1", "put Queue 1", "got Queue 1", "sent Pipe 1", "received Pipe 1", "exited(0)"] {
            XCTAssertTrue(names.contains(expected), "no \(expected) in \(names.sorted())")
        }
        XCTAssertTrue(names.contains { $0.hasPrefix("task ") }, "no pool task")
        XCTAssertTrue(names.contains { $0.hasPrefix("assign task ") }, "no assignment")
        XCTAssertTrue(
            events.contains { ($0["name"] as? String)?.hasPrefix("task ") == true && $0["args"] != nil },
            "the failed task is not marked")
        // Every process has its name.
        let named = Set(events.filter { ($0["ph"] as? String) == "M" }.compactMap { $0["pid"] as? Int })
        XCTAssertTrue(seen.isSubset(of: named), "unnamed: \(seen.subtracting(named))")
        XCTAssertEqual(summary.processCount, seen.count)
    }

    func testAChildKilledWhileHoldingALockKeepsItsEvents() throws {
        let path = temporaryPath("killed")
        defer { unlink(path) }
        try Tracing.start(writingTo: path)
        let lock = try Lock()
        let holding = try Event()
        let holder = ChildProcess {
            lock.acquire()
            holding.set()
            while true { pause() }
        }
        try holder.start()
        XCTAssertTrue(holding.wait(timeout: .seconds(60)))
        try holder.kill()
        try holder.join()
        XCTAssertEqual(holder.exitCode, -SIGKILL)
        XCTAssertTrue(lock.acquire(timeout: .seconds(60)))  // taken over from the dead holder
        try lock.release()
        try Tracing.stop()

        let events = try events(in: path)
        let pid = Int(try XCTUnwrap(holder.pid))
        let mine = events.filter { ($0["pid"] as? Int) == pid }.compactMap { $0["name"] as? String }
        XCTAssertTrue(mine.contains("hold Lock 1"), "\(mine)")
        XCTAssertTrue(mine.contains("set Event 1"), "\(mine)")
        XCTAssertTrue(mine.contains("killed by signal 9"), "\(mine)")
    }

    func testAFullRegionCountsWhatItDropsAndStillWritesTheFile() throws {
        let path = temporaryPath("full")
        defer { unlink(path) }
        try Tracing.start(writingTo: path, capacity: 16)
        let lock = try Lock()
        let child = ChildProcess { for _ in 0..<100 { lock.withLock {} } }
        try child.start()
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
        let summary = try XCTUnwrap(try Tracing.stop())
        // 16 events, and the processes' starts and ends in slots of their own: the trace's start,
        // the child's start, its exiting and its parent's exited. A hold is one event.
        XCTAssertLessThanOrEqual(summary.eventCount, 16 + 4)
        XCTAssertGreaterThanOrEqual(summary.droppedCount, 100 - 16)
        let events = try events(in: path)
        let pid = Int(try XCTUnwrap(child.pid))
        XCTAssertTrue(
            events.contains { ($0["pid"] as? Int) == pid && ($0["name"] as? String) == "exited(0)" },
            "a full region still names the child and how it ended")
    }

    func testStartingTwiceOrWithABadCapacityIsRefused() throws {
        let path = temporaryPath("twice")
        defer { unlink(path) }
        XCTAssertThrowsError(try Tracing.start(writingTo: path, capacity: 0)) {
            XCTAssertEqual($0 as? TracingError, .invalidCapacity(0))
        }
        try Tracing.start(writingTo: path)
        XCTAssertThrowsError(try Tracing.start(writingTo: path)) {
            XCTAssertEqual($0 as? TracingError, .alreadyTracing)
        }
        XCTAssertNotNil(try Tracing.stop())
        XCTAssertNil(try Tracing.stop())
    }

    func testAnUnwritablePathIsAnErrorAtStop() throws {
        try Tracing.start(writingTo: "/nonexistent-directory/trace.json")
        XCTAssertThrowsError(try Tracing.stop()) {
            guard case .cannotWrite(let path, let error)? = $0 as? TracingError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, "/nonexistent-directory/trace.json")
            XCTAssertEqual(error.errno, ENOENT)
        }
        XCTAssertFalse(Tracing.isActive)
    }

    func testTracingOffRecordsNothingAndWritesNoFile() throws {
        let path = temporaryPath("off")
        unlink(path)
        XCTAssertFalse(Tracing.isActive)
        let lock = try Lock()
        let child = ChildProcess { lock.withLock {} }
        try child.start()
        try child.join()
        XCTAssertNil(try Tracing.stop())
        XCTAssertNotEqual(access(path, F_OK), 0)
    }

    /// Two pools in one trace both number their tasks from 1: each task's span pairs its start and
    /// its finish on the worker that ran it (keyed by task id alone, pool B's start replaced pool
    /// A's, and one span was lost or drawn on the wrong worker).
    func testTasksOfTwoPoolsWithTheSameIdsPairOnTheirOwnWorkers() throws {
        try Tracing.start(writingTo: "/dev/null")
        let bothStarted = try Barrier(parties: 2)
        let first = try Pool(processes: 1) { (x: Int) -> Int32 in
            _ = try? bothStarted.wait(timeout: .seconds(30))
            return getpid()
        }
        let second = try Pool(processes: 1) { (x: Int) -> Int32 in
            _ = try? bothStarted.wait(timeout: .seconds(30))
            return getpid()
        }
        let a = try first.applyAsync(1)
        let b = try second.applyAsync(2)
        let workers = [try a.get(timeout: .seconds(60)), try b.get(timeout: .seconds(60))]
        for pool in [first, second] {
            pool.close()
            try pool.join()
        }
        let (_, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
        let tasks = timeline.spans.filter { $0.kind == .working }
        XCTAssertEqual(tasks.count, 2, "\(tasks)")
        XCTAssertEqual(Set(tasks.map(\.pid)), Set(workers))
        XCTAssertFalse(tasks.contains { $0.failed }, "\(tasks)")
        // Each task waited at the barrier inside its span: both spans overlap the other's start.
        for task in tasks { XCTAssertTrue(tasks.allSatisfy { $0.start < task.end }, "\(tasks)") }
    }

    /// Releasing a lock nobody holds gives nothing back: the trace shows no `released` for it.
    func testReleasingAnUnlockedLockRecordsNothing() throws {
        try Tracing.start(writingTo: "/dev/null")
        let lock = try Lock()
        XCTAssertThrowsError(try lock.release())
        lock.withLock {}
        let (summary, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
        XCTAssertEqual(summary.eventCount, 2, "the trace's own start, one hold")
        XCTAssertEqual(timeline.spans.filter { $0.kind == .holding }.count, 1)
    }

    /// Either timestamp source (the TSC, converted when the trace stops, or the clock itself) gives
    /// nanoseconds: a lock held across a 20 ms sleep shows a hold of at least 20 ms, and a child's
    /// lane lies inside the trace.
    func testTimesAreNanosecondsWithEitherClock() throws {
        defer { unsetenv("MP_TRACE_CLOCK") }
        for clock in ["tsc", "monotonic"] {
            setenv("MP_TRACE_CLOCK", clock, 1)
            try Tracing.start(writingTo: "/dev/null")
            let lock = try Lock()
            let child = ChildProcess { lock.withLock {} }
            try lock.withLock {
                try child.start()
                usleep(20_000)
            }
            try child.join()
            let (_, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
            let holds = timeline.spans.filter { $0.kind == .holding && $0.pid == getpid() }
            let held = try XCTUnwrap(holds.first, clock).end - holds[0].start
            XCTAssertGreaterThanOrEqual(held, 20_000_000, clock)
            XCTAssertLessThan(held, 60_000_000_000, clock)
            let lane = try XCTUnwrap(timeline.lanes.first { $0.pid == child.pid }, clock)
            XCTAssertTrue(
                0 <= lane.start && lane.start <= lane.end && lane.end <= timeline.duration, "\(clock) \(lane)")
        }
    }
}
