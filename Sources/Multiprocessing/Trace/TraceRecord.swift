// Trace/: recording what every process of a run does, and when (MP_TRACE, `Tracing`). The records
// go into one shared region (CMultiprocessingShims/trace.c) that every process forked after the
// trace started inherits, so a killed process's records are already there. The process that
// started the trace merges them into one Trace Event Format file (TraceTimeline.swift,
// TraceJSON.swift). May depend on Platform/ and Process/ (names, exit handling).
//
// This file: what a record says, and the one call the instrumented code makes.

import CMultiprocessingShims
import Glibc

/// The kind of object a record is about (the high byte of a record's kind).
package enum TraceObject: UInt8, Sendable, CaseIterable {
    case process = 1
    case lock
    case rlock
    case semaphore
    case event
    case condition
    case barrier
    case queue
    case pipe
    case pool

    /// The name a reader sees: `Lock`, `Queue`, ...
    var label: String {
        switch self {
        case .process: return "Process"
        case .lock: return "Lock"
        case .rlock: return "RLock"
        case .semaphore: return "Semaphore"
        case .event: return "Event"
        case .condition: return "Condition"
        case .barrier: return "Barrier"
        case .queue: return "Queue"
        case .pipe: return "Pipe"
        case .pool: return "Pool"
        }
    }
}

/// What happened (the low byte of a record's kind).
///
/// A `waiting` record opens a wait: the next record of the same thread about the same object
/// (`acquired`, `woken`, `put`, `got`, `received`, `joined`, `timedOut`) closes it.
package enum TraceAction: UInt8, Sendable {
    /// The process began (its own record). Object: its pid.
    case started = 1
    /// The process ends normally (its own record). Argument: the exit status.
    case exiting
    /// The process was reaped by its parent (the parent's record, on the child's lane).
    /// Argument: the exit code, −N for signal N.
    case exited
    /// The thread starts to wait for the object.
    case waiting
    /// Semaphore unit: taken. Lock, RLock (first level): a hold not released yet (its holder was
    /// killed holding, or the trace stopped first); the release turns it into `held`.
    case acquired
    /// Semaphore unit: given back, by whoever gives it. (A lock's release completes its `held`.)
    case released
    /// A wait ended without what it waited for (a timeout, a broken barrier).
    case timedOut
    /// Event: raised.
    case set
    /// Event, condition, barrier: the wait returned. Barrier: argument is the arrival index.
    case woken
    /// Condition: notify. Argument: how many (−1: all).
    case notified
    /// Queue: an item was put.
    case put
    /// Queue: an item was taken.
    case got
    /// Pipe: a message was sent. Argument: its bytes.
    case sent
    /// Pipe: a message was received. Argument: its bytes.
    case received
    /// Process: a join returned. Object: the child's pid.
    case joined
    /// Pool (the parent's I/O thread): a task (object: its id) was handed to a worker (argument: its slot).
    case assigned
    /// Pool worker: a task started, finished, failed (object: its id).
    case taskStarted
    case taskFinished
    case taskFailed
    /// Lock, RLock (first level to last): a whole hold in one record, on the holder's lane (time: the
    /// acquire; the duration in the record), whoever released it. Written as `acquired`, turned into
    /// `held` by the release, so a holder killed while holding still shows its acquire. Its raw value
    /// is the C side's `MP_TRACE_ACTION_HELD`.
    case held
}

/// The instrumented code's entry point: a record when a trace is on, one branch when it is off.
enum Trace {
    /// Whether this process records (a plain load of a C global: no lazy initialisation).
    @inline(__always)
    static var isOn: Bool { mp_trace_active() != nil }

    /// Records `action` on `object` (identified by `id`, e.g. its shared memory's address) for the
    /// calling thread, if a trace is on.
    @inline(__always)
    static func record(_ object: TraceObject, _ action: TraceAction, _ id: UInt64, _ argument: Int32 = 0) {
        if let region = mp_trace_active() {
            mp_trace_append(region, kind(object, action), id, argument)
        }
    }

    /// The same for an object known by a pointer into its shared memory.
    @inline(__always)
    static func record(
        _ object: TraceObject, _ action: TraceAction, _ pointer: UnsafeRawPointer, _ argument: Int32 = 0
    ) {
        if let region = mp_trace_active() {
            mp_trace_append(region, kind(object, action), UInt64(UInt(bitPattern: pointer)), argument)
        }
    }

    /// A timestamp for ``record(_:_:_:at:)`` (0 when no trace is on): taken before an operation
    /// whose record is written after it (a release: the next holder's time is then after this one).
    @inline(__always)
    static func stamp() -> Int64 {
        if let region = mp_trace_active() { return mp_trace_stamp(region) }
        return 0
    }

    /// Records with a timestamp taken earlier by ``stamp()`` (in this trace: none when it was off).
    @inline(__always)
    static func record(_ object: TraceObject, _ action: TraceAction, _ pointer: UnsafeRawPointer, at stamp: Int64) {
        if let region = mp_trace_active(), stamp != 0 {
            mp_trace_append_at(region, stamp, kind(object, action), UInt64(UInt(bitPattern: pointer)), 0)
        }
    }

    /// Records, on the lane of process `pid`, that its parent reaped it with `status`.
    static func recordExit(of pid: pid_t, _ status: ExitStatus?) {
        guard let region = mp_trace_active() else { return }
        mp_trace_append_for(
            region, pid, kind(.process, .exited), UInt64(UInt32(bitPattern: pid)), status?.exitCode ?? 0)
    }

    /// A new process (just forked, one thread) records its name and that it started.
    static func recordStart(pid: pid_t, name: String) {
        guard let region = mp_trace_active() else { return }
        mp_trace_name(region, pid, name)
        mp_trace_append(region, kind(.process, .started), UInt64(UInt32(bitPattern: pid)), 0)
    }

    @inline(__always)
    static func kind(_ object: TraceObject, _ action: TraceAction) -> UInt16 {
        UInt16(object.rawValue) << 8 | UInt16(action.rawValue)
    }
}
