// From records to a timeline: every process's lane, and on it the spans of waiting, holding and
// working, and the moments (an event set, an item put). What `Tracing.stop()` writes as JSON, and
// what the chapters' `--timeline` draws.

import CMultiprocessingShims
import Glibc

/// What a span on a lane means.
package enum TraceSpanKind: String, Sendable {
    /// Waiting for an object (a lock, an item, a child, a message).
    case waiting = "wait"
    /// Holding a lock or a semaphore unit.
    case holding = "hold"
    /// Running a pool task.
    case working = "task"
}

/// One process of a traced run.
package struct TraceLane: Sendable {
    package let pid: pid_t
    package var name: String
    /// Nanoseconds since the trace started.
    package var start: Int64
    package var end: Int64
    /// How it ended as its parent saw it (`exited(0)`, `killed by signal 9`), nil if not seen.
    package var ending: String?
}

/// A stretch of time on one thread of one process.
package struct TraceSpan: Sendable {
    package let kind: TraceSpanKind
    package let pid: pid_t
    package let tid: pid_t
    /// What it is about: `Lock 1`, `Queue 1`, `task 7`, `Process-2`.
    package let label: String
    package let start: Int64
    package var end: Int64
    package var failed = false
}

/// A moment on one thread: `set Event 1`, `put Queue 1`, `exited(0)`.
package struct TraceMoment: Sendable {
    package let pid: pid_t
    package let tid: pid_t
    package let label: String
    package let time: Int64
}

/// A whole traced run, merged from every process's records.
package struct TraceTimeline: Sendable {
    package var lanes: [TraceLane] = []
    package var spans: [TraceSpan] = []
    package var moments: [TraceMoment] = []
    /// Records kept, and records lost because the region was full.
    package var recorded = 0
    package var dropped = 0
    /// Nanoseconds from the trace's start to its stop.
    package var duration: Int64 = 0
}

extension TraceTimeline {
    /// Reads and merges every record of `region`, as of now (`stop`: the time the trace ended).
    init(region: UnsafeRawPointer, ownerName: String, stop: Int64) {
        let origin = mp_trace_start(region)
        let stored = mp_trace_slots(region)
        let lives = mp_trace_life_slots(region)
        dropped = Int(mp_trace_dropped(region))
        duration = stop - origin
        var records: [(record: mp_trace_record, index: Int)] = []
        records.reserveCapacity(Int(stored + lives))
        var record = mp_trace_record()
        for index in 0..<stored where mp_trace_read(region, index, &record) != 0 {
            records.append((record, records.count))
        }
        for index in 0..<lives where mp_trace_read_life(region, index, &record) != 0 {
            records.append((record, records.count))
        }
        recorded = records.count
        records = Self.expandingHolds(records)
        // Each thread fills its own block of slots: time order is restored here (a release before
        // anything else at the same time, then a thread's records keep their order).
        records.sort {
            ($0.record.nanoseconds, Self.rank($0.record), $0.index)
                < ($1.record.nanoseconds, Self.rank($1.record), $1.index)
        }

        var names: [pid_t: String] = [mp_trace_owner(region): ownerName]
        for index in 0..<mp_trace_name_count(region) {
            var text: UnsafePointer<CChar>? = nil
            let pid = mp_trace_name_at(region, index, &text)
            if pid != 0, let text { names[pid] = String(cString: text) }
        }
        var merger = Merger(origin: origin, end: duration, names: names)
        for (record, _) in records { merger.take(record) }
        self.lanes = merger.finishLanes()
        self.spans = merger.finishSpans(lanes: lanes)
        self.moments = merger.moments
    }
}

extension TraceTimeline {
    typealias Indexed = (record: mp_trace_record, index: Int)

    private static func rank(_ record: mp_trace_record) -> Int {
        UInt8(record.kind & 0xFF) == TraceAction.released.rawValue ? 0 : 1
    }

    private static func action(_ record: mp_trace_record) -> TraceAction? {
        TraceAction(rawValue: UInt8(record.kind & 0xFF))
    }

    /// A lock's hold is one `held` record: it becomes the `acquired` and `released` records it
    /// stands for, on the holder's lane. It is cut at the next acquire of the same lock if that
    /// came first (holds of one lock never overlap; a stamp taken outside the hold, after a sleep,
    /// may say otherwise by a few nanoseconds).
    static func expandingHolds(_ records: [Indexed]) -> [Indexed] {
        guard records.contains(where: { action($0.record) == .held }) else { return records }
        // The start of every hold of every lock, in order.
        var starts: [UInt64: [Int64]] = [:]
        for (record, _) in records where action(record) == .held || action(record) == .acquired {
            if record.kind >> 8 == UInt16(TraceObject.lock.rawValue)
                || record.kind >> 8 == UInt16(TraceObject.rlock.rawValue)
            {
                starts[record.object, default: []].append(record.nanoseconds)
            }
        }
        for key in starts.keys { starts[key]!.sort() }
        var result: [Indexed] = []
        result.reserveCapacity(records.count + records.count / 2)
        for (record, index) in records {
            guard action(record) == .held else {
                result.append((record, index))
                continue
            }
            let start = record.nanoseconds
            var end = start + Int64(UInt64(UInt32(bitPattern: record.argument)) | UInt64(record.spare) << 32)
            if let next = starts[record.object]?.firstAfter(start) { end = min(end, next) }
            let object = record.kind & 0xFF00
            var acquired = record
            acquired.kind = object | UInt16(TraceAction.acquired.rawValue)
            acquired.argument = 0
            acquired.spare = 0
            var released = acquired
            released.kind = object | UInt16(TraceAction.released.rawValue)
            released.nanoseconds = end
            result.append((acquired, index))
            result.append((released, index))
        }
        return result
    }
}

extension Array where Element == Int64 {
    /// The first element greater than `value` of this sorted array.
    fileprivate func firstAfter(_ value: Int64) -> Int64? {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low < count ? self[low] : nil
    }
}

/// Pairs records into spans, thread by thread and object by object.
private struct Merger {
    struct Thread: Hashable {
        let pid: pid_t
        let tid: pid_t
    }
    struct Key: Hashable {
        let object: UInt8
        let id: UInt64
    }
    struct Open {
        let thread: Thread
        let start: Int64
    }

    let origin: Int64
    let end: Int64
    let names: [pid_t: String]
    var lanes: [pid_t: TraceLane] = [:]
    var laneOrder: [pid_t] = []
    var spans: [TraceSpan] = []
    var moments: [TraceMoment] = []
    /// Open waits, per thread and object.
    var waits: [Thread: [Key: Open]] = [:]
    /// Open holds per object, oldest first (a semaphore has several).
    var holds: [Key: [Open]] = [:]
    struct TaskKey: Hashable {
        let thread: Thread
        let id: UInt64
    }
    /// Open pool tasks, per worker thread and task id.
    var tasks: [TaskKey: Open] = [:]
    /// `Lock 1`, `Queue 2`: numbered in order of first appearance, per kind of object.
    var numbers: [Key: Int] = [:]
    var counts: [UInt8: Int] = [:]

    init(origin: Int64, end: Int64, names: [pid_t: String]) {
        self.origin = origin
        self.end = end
        self.names = names
    }

    mutating func label(_ object: TraceObject, _ id: UInt64) -> String {
        switch object {
        case .process:
            let pid = pid_t(truncatingIfNeeded: id)
            return "\(names[pid] ?? "pid") (\(pid))"
        case .pool:
            return "task \(id)"
        default:
            let key = Key(object: object.rawValue, id: id)
            if let number = numbers[key] { return "\(object.label) \(number)" }
            let number = counts[object.rawValue, default: 0] + 1
            counts[object.rawValue] = number
            numbers[key] = number
            return "\(object.label) \(number)"
        }
    }

    mutating func lane(_ pid: pid_t, at time: Int64) {
        if lanes[pid] == nil {
            lanes[pid] = TraceLane(pid: pid, name: names[pid] ?? "pid \(pid)", start: time, end: end, ending: nil)
            laneOrder.append(pid)
        }
    }

    mutating func take(_ record: mp_trace_record) {
        guard let object = TraceObject(rawValue: UInt8(record.kind >> 8)),
            let action = TraceAction(rawValue: UInt8(record.kind & 0xFF))
        else { return }
        let time = max(0, record.nanoseconds - origin)
        let thread = Thread(pid: record.pid, tid: record.tid)
        let key = Key(object: object.rawValue, id: record.object)
        lane(record.pid, at: time)
        // Whatever this thread does next with the object ends its wait for it.
        if action != .waiting, let open = waits[thread]?.removeValue(forKey: key) {
            spans.append(
                TraceSpan(
                    kind: .waiting, pid: thread.pid, tid: thread.tid, label: label(object, record.object),
                    start: open.start, end: time))
        }
        switch action {
        case .started:
            lanes[record.pid]!.start = time
        case .exiting:
            lanes[record.pid]!.end = time
            lanes[record.pid]!.ending = "exiting(\(record.argument))"
        case .exited:
            lanes[record.pid]!.end = time
            let code = record.argument
            lanes[record.pid]!.ending = code >= 0 ? "exited(\(code))" : "killed by signal \(-code)"
            moments.append(TraceMoment(pid: record.pid, tid: record.tid, label: lanes[record.pid]!.ending!, time: time))
        case .waiting:
            waits[thread, default: [:]][key] = Open(thread: thread, start: time)
        case .acquired:
            holds[key, default: []].append(Open(thread: thread, start: time))
        case .released:
            // A release with no unit taken before it (a semaphore used as a counter of items, made with
            // 0) pairs with no hold: kept as a moment, so that a reader of the timeline still sees it.
            guard var open = holds[key], !open.isEmpty else {
                moments.append(
                    TraceMoment(
                        pid: thread.pid, tid: thread.tid, label: "released " + label(object, record.object), time: time)
                )
                break
            }
            // The releaser's own hold if it has one (a lock), else the oldest (a semaphore given back by another).
            let index = open.lastIndex { $0.thread == thread } ?? 0
            let hold = open.remove(at: index)
            holds[key] = open
            spans.append(
                TraceSpan(
                    kind: .holding, pid: hold.thread.pid, tid: hold.thread.tid, label: label(object, record.object),
                    start: hold.start, end: time))
        case .taskStarted:
            tasks[TaskKey(thread: thread, id: record.object)] = Open(thread: thread, start: time)
        case .taskFinished, .taskFailed:
            // The worker thread that started the task finishes it: keyed by both, so that two pools of
            // one trace (each numbers its tasks from 1) never pair one's start with the other's end.
            guard let open = tasks.removeValue(forKey: TaskKey(thread: thread, id: record.object)) else { break }
            spans.append(
                TraceSpan(
                    kind: .working, pid: thread.pid, tid: thread.tid, label: "task \(record.object)",
                    start: open.start, end: time, failed: action == .taskFailed))
        case .held:
            break  // expanded before (TraceTimeline.expandingHolds)
        case .set, .notified, .put, .got, .sent, .received, .joined, .assigned, .timedOut, .woken:
            let name: String
            switch action {
            case .assigned: name = "assign task \(record.object) to worker \(record.argument)"
            case .joined: name = "joined " + label(.process, record.object)
            default: name = "\(action) " + label(object, record.object)
            }
            moments.append(TraceMoment(pid: thread.pid, tid: thread.tid, label: name, time: time))
        }
    }

    func finishLanes() -> [TraceLane] {
        laneOrder.map { lanes[$0]! }
    }

    /// Closes what is still open at its process's end: a wait or a hold cut short by a kill.
    mutating func finishSpans(lanes: [TraceLane]) -> [TraceSpan] {
        var ends: [pid_t: Int64] = [:]
        for lane in lanes { ends[lane.pid] = lane.end }
        var result = spans
        for (thread, open) in waits {
            for (key, wait) in open {
                let object = TraceObject(rawValue: key.object) ?? .process
                result.append(
                    TraceSpan(
                        kind: .waiting, pid: thread.pid, tid: thread.tid, label: label(object, key.id),
                        start: wait.start, end: max(wait.start, ends[thread.pid] ?? end)))
            }
        }
        for (key, open) in holds {
            let object = TraceObject(rawValue: key.object) ?? .lock
            for hold in open {
                result.append(
                    TraceSpan(
                        kind: .holding, pid: hold.thread.pid, tid: hold.thread.tid, label: label(object, key.id),
                        start: hold.start, end: max(hold.start, ends[hold.thread.pid] ?? end)))
            }
        }
        for (key, task) in tasks {
            result.append(
                TraceSpan(
                    kind: .working, pid: task.thread.pid, tid: task.thread.tid, label: "task \(key.id)",
                    start: task.start, end: max(task.start, ends[task.thread.pid] ?? end), failed: true))
        }
        result.sort { ($0.start, $0.pid) < ($1.start, $1.pid) }
        return result
    }
}
