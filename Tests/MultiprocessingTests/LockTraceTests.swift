import CMultiprocessingShims
import Glibc
import XCTest

@testable import Multiprocessing

/// A lock's hold is one trace record (`held`), written as `acquired` and completed by the release:
/// what the timeline shows of it is the acquire and the release on the holder's lane, as before.
final class LockTraceTests: XCTestCase {
    func testTheHeldActionMatchesTheCSide() {
        XCTAssertEqual(UInt32(TraceAction.held.rawValue), UInt32(MP_TRACE_ACTION_HELD))
    }

    func testAHoldIsOneRecordShownAsASpanOnTheHoldersLane() throws {
        try Tracing.start(writingTo: "/dev/null")
        let lock = try Lock()
        let child = ChildProcess { for _ in 0..<3 { lock.withLock {} } }
        try child.start()
        try child.join()
        XCTAssertEqual(child.exitCode, 0)
        let (summary, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
        // The trace's start, the child's start, 3 holds, its exiting and its parent's exited (and the
        // join's wait and return, if the child was still running when the join began).
        let join = timeline.moments.contains { $0.label.hasPrefix("joined") } ? 2 : 0
        XCTAssertEqual(summary.eventCount, 7 + join, "\(timeline.spans) \(timeline.moments)")
        let holds = timeline.spans.filter { $0.kind == .holding }
        XCTAssertEqual(holds.count, 3, "\(holds)")
        for hold in holds {
            XCTAssertEqual(hold.pid, child.pid)
            XCTAssertEqual(hold.tid, child.pid, "the child's main thread")
            XCTAssertEqual(hold.label, "Lock 1")
            XCTAssertLessThanOrEqual(hold.start, hold.end)
        }
        for (earlier, later) in zip(holds, holds.dropFirst()) { XCTAssertLessThanOrEqual(earlier.end, later.start) }
    }

    /// Another process may release (as in Python): the hold stays on the holder's lane and ends at
    /// the release, not at the holder's end.
    func testAReleaseByAnotherProcessEndsTheHoldersHold() throws {
        try Tracing.start(writingTo: "/dev/null")
        let lock = try Lock()
        let holding = try Event()
        let released = try Event()
        let holder = ChildProcess {
            lock.acquire()
            holding.set()
            _ = released.wait(timeout: .seconds(60))
        }
        try holder.start()
        XCTAssertTrue(holding.wait(timeout: .seconds(60)))
        try lock.release()
        released.set()
        try holder.join()
        XCTAssertEqual(holder.exitCode, 0)
        let (_, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
        let holds = timeline.spans.filter { $0.kind == .holding }
        XCTAssertEqual(holds.count, 1, "\(holds)")
        let hold = try XCTUnwrap(holds.first)
        XCTAssertEqual(hold.pid, holder.pid)
        let set = try XCTUnwrap(timeline.moments.first { $0.label == "set Event 2" && $0.pid == getpid() })
        XCTAssertLessThanOrEqual(hold.end, set.time, "the hold ends at the release, before the parent's set")
    }

    /// A wait that went to sleep is a span from its start to the acquire.
    func testASleepingWaitIsSeen() throws {
        try Tracing.start(writingTo: "/dev/null")
        let lock = try Lock()
        let ready = try Event()
        lock.acquire()
        let waiter = ChildProcess {
            ready.set()
            lock.withLock {}
        }
        try waiter.start()
        XCTAssertTrue(ready.wait(timeout: .seconds(60)))
        waitUntilSleeping(waiter.pid!)
        try lock.release()
        try waiter.join()
        XCTAssertEqual(waiter.exitCode, 0)
        let (_, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
        let waits = timeline.spans.filter { $0.kind == .waiting && $0.pid == waiter.pid && $0.label == "Lock 1" }
        XCTAssertEqual(waits.count, 1, "\(timeline.spans)")
        let hold = try XCTUnwrap(timeline.spans.first { $0.kind == .holding && $0.pid == waiter.pid })
        XCTAssertEqual(waits.first?.end, hold.start, "the wait ends where the hold begins")
        let parentHold = try XCTUnwrap(timeline.spans.first { $0.kind == .holding && $0.pid == getpid() })
        XCTAssertLessThanOrEqual(parentHold.end, hold.start)
    }

    /// A timed-out wait keeps its span and its `timedOut` moment, and no hold.
    func testATimedOutWaitIsSeen() throws {
        try Tracing.start(writingTo: "/dev/null")
        let lock = try Lock()
        lock.acquire()
        let waiter = ChildProcess { if lock.acquire(timeout: .milliseconds(50)) { exitProcess(3) } }
        try waiter.start()
        try waiter.join()
        XCTAssertEqual(waiter.exitCode, 0)
        try lock.release()
        let (_, timeline) = try XCTUnwrap(Tracing.stopAndCollect())
        XCTAssertEqual(timeline.spans.filter { $0.kind == .waiting && $0.pid == waiter.pid }.count, 1)
        XCTAssertTrue(timeline.moments.contains { $0.pid == waiter.pid && $0.label == "timedOut Lock 1" })
        XCTAssertFalse(timeline.spans.contains { $0.kind == .holding && $0.pid == waiter.pid })
    }

    /// A hold whose end is stamped after the next holder's acquire (a stamp taken outside a hold)
    /// is cut there by the timeline (holds of one lock never overlap).
    func testAHoldEndingAfterTheNextAcquireIsCutThere() {
        func record(_ action: TraceAction, at time: Int64, pid: pid_t, held: Int64 = 0) -> mp_trace_record {
            var record = mp_trace_record()
            record.nanoseconds = time
            record.pid = pid
            record.tid = pid
            record.object = 0x1000
            record.kind = UInt16(TraceObject.lock.rawValue) << 8 | UInt16(action.rawValue)
            record.argument = Int32(truncatingIfNeeded: held)
            record.spare = UInt16(truncatingIfNeeded: held >> 32)
            return record
        }
        let long = Int64(1) << 40  // beyond 32 bits: the spare bits count
        let records: [TraceTimeline.Indexed] = [
            (record(.held, at: 100, pid: 1, held: 50), 0),  // ends at 150, after the next start
            (record(.held, at: 120, pid: 2, held: 10), 1),  // ends at 130
            (record(.acquired, at: 200, pid: 3), 2),  // a holder that never released (killed)
            (record(.held, at: 300, pid: 4, held: long), 3),  // the last hold: nothing to cut it
        ]
        let expanded = TraceTimeline.expandingHolds(records).map {
            ($0.record.pid, TraceAction(rawValue: UInt8($0.record.kind & 0xFF))!, $0.record.nanoseconds)
        }
        let expected: [(pid_t, TraceAction, Int64)] = [
            (1, .acquired, 100), (1, .released, 120), (2, .acquired, 120), (2, .released, 130),
            (3, .acquired, 200), (4, .acquired, 300), (4, .released, 300 + long),
        ]
        XCTAssertEqual(expanded.count, expected.count)
        for (got, want) in zip(expanded, expected) {
            XCTAssertTrue(got == want, "\(got) is not \(want)")
        }
    }
}
