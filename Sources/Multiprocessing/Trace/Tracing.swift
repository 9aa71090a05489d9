// Starting and stopping a trace: by the program (`Tracing.start(writingTo:)`) or by the environment
// (`MP_TRACE=path`, read once, at the runtime's first use in the process that starts the run).

import CMultiprocessingShims
import Glibc
import Synchronization

/// Records what every process of a run does, and when, into one file that Perfetto's UI
/// (ui.perfetto.dev) and chrome://tracing open: the Trace Event Format.
///
/// Between ``start(writingTo:capacity:)`` and ``stop()`` (or the end of the process that started the
/// trace), every process forked from it records: started and exited (with how it ended), join
/// waiting and returned, ``Lock`` and ``RLock`` holds (acquire to release, on the holder's lane) and
/// waits that went to sleep or timed out (not those that a short spin ended), semaphore waiting,
/// acquired and released, ``Event`` set and waited, ``Condition`` and ``Barrier`` waits, ``Queue`` put and get (blocked and done),
/// ``Connection`` send and receive, ``Pool`` tasks assigned, started, finished and failed on each
/// worker. Each record has a monotonic timestamp, the process and thread ids and the object.
/// Python's `multiprocessing` has no tracer; this replaces sprinkling `print(time.monotonic())`.
///
/// Setting `MP_TRACE=path` in the environment traces a whole program without changing it: the
/// runtime starts the trace at its first use (the first lock, queue, pipe, pool or child created)
/// and writes `path` when the program ends.
///
/// The records go into one shared memory region, made by the process that starts the trace and
/// inherited by every child forked afterwards: a child that is killed (even by SIGKILL) has
/// already stored what it recorded. Only the process that started the trace writes the file:
/// at ``stop()``, or when it ends normally (after it has joined its children).
///
/// Cost: off, each instrumented operation tests one pointer. On, each event is a timestamp and a
/// 32-byte store into the shared region (a thread claims 64 slots at a time with one atomic add),
/// with no system call and no lock. A lock's hold is one event: written at the acquire, completed
/// by the release (whichever process releases), both stamped while the lock is held; a holder
/// killed while holding leaves its acquire. The timestamp is the CPU's time-stamp counter where it is
/// invariant (x86-64 with `constant_tsc` and `nonstop_tsc`, and the kernel keeping time by it),
/// converted to `CLOCK_MONOTONIC` when the trace stops by the line through two (counter, clock)
/// pairs taken at its start and stop; elsewhere, or with `MP_TRACE_CLOCK=monotonic`, it is the
/// clock itself. The region's pages are faulted in when the trace starts (at most 256 MiB), and a
/// forked child maps them 256 KiB at a time, so no event pays for a page fault.
///
/// Measured with the bench on an idle 2-core virtual machine: a counter read takes about 18 ns (a
/// clock read about 33 ns). The contended ``Lock`` of two processes runs about 17 million rounds a
/// second untraced and about 7 million traced (2.5 times slower): its round is some 60 ns, and
/// the two counter reads of a hold add about 36 ns to it (with the reads left out, the traced lock
/// ran 1.5 times slower). A ``Pool/map(_:chunkSize:)-s2jj`` of tiny items records three events per
/// chunk (about 60 for 200,000 items): its traced median is within about 10% of the untraced one.
///
/// The region takes `capacity` events (32 bytes each), and 4096 more for processes' starts and
/// ends, so that a full region still names every process of the run. When it is full, later
/// events are dropped and counted (``TraceSummary/droppedCount``); nothing waits.
public enum Tracing {
    /// The events a trace keeps by default (32 MiB, faulted in when the trace starts).
    public static let defaultCapacity = 1 << 20

    /// Whether the calling process records events now (it started a trace, or was forked from one
    /// that did while it was on).
    public static var isActive: Bool { Trace.isOn }

    /// Starts recording, in this process and every process it forks from now on, until ``stop()``
    /// or this process's end, when the trace is written to `path`.
    /// - Parameters:
    ///   - path: the file to write (created or replaced) when the trace stops.
    ///   - capacity: how many events to keep; later ones are counted and dropped.
    /// - Throws: ``TracingError/alreadyTracing`` when this process already records a trace (its own
    ///   or its parent's); ``TracingError/invalidCapacity(_:)`` when `capacity` is below 1 or above
    ///   2^28; ``TracingError/system(_:)`` when the region cannot be mapped.
    /// - Cost: one `mmap` of `capacity` × 32 bytes, faulted in at once (up to 256 MiB; about 1 ms per
    ///   2 MiB on a loaded virtual machine), and reading /proc/cpuinfo once.
    public static func start(writingTo path: String, capacity: Int = defaultCapacity) throws(TracingError) {
        environmentChecked.store(true, ordering: .relaxed)
        try startTrace(path: path, capacity: capacity)
    }

    /// Stops recording in this process and writes the trace file, merged from the records of
    /// every process (including those that were killed). Processes still running that were forked
    /// during the trace keep recording into the old region, which nobody reads any more.
    /// - Returns: what was written; nil when this process did not start a trace (a child that
    ///   inherited its parent's trace stops nothing: the parent writes the file).
    /// - Throws: ``TracingError/cannotWrite(path:_:)`` when the file cannot be written (the trace
    ///   is stopped all the same).
    /// - Cost: sorting and formatting the records (about 1 µs each), and writing the file.
    @discardableResult
    public static func stop() throws(TracingError) -> TraceSummary? {
        guard let (summary, timeline, path) = finish() else { return nil }
        do throws(SystemError) {
            try timeline.write(to: path)
        } catch {
            throw .cannotWrite(path: path, error)
        }
        return summary
    }

    /// Stops the trace this process started and returns its merged records without writing the
    /// file (the chapters' `--timeline`). nil when this process did not start one.
    package static func stopAndCollect() -> (TraceSummary, TraceTimeline)? {
        guard let (summary, timeline, _) = finish() else { return nil }
        return (summary, timeline)
    }

    /// Stops the trace this process started without merging or writing anything (the bench's traced
    /// rows): how many events were kept and dropped. nil when this process did not start one.
    package static func stopDiscarding() -> (recorded: Int, dropped: Int)? {
        guard let ended = endSession() else { return nil }
        var record = mp_trace_record()
        var kept = 0
        for index in 0..<mp_trace_slots(ended.region) where mp_trace_read(ended.region, index, &record) != 0 {
            kept += 1
        }
        for index in 0..<mp_trace_life_slots(ended.region) where mp_trace_read_life(ended.region, index, &record) != 0 {
            kept += 1
        }
        let dropped = Int(mp_trace_dropped(ended.region))
        mp_trace_discard(ended.region, ended.capacity, names)
        return (kept, dropped)
    }

    /// The owner's trace: where it goes and its region.
    private struct Session: @unchecked Sendable {
        let path: String
        let region: UnsafeMutableRawPointer
        let capacity: UInt64
        let owner: pid_t
    }

    private static let names: UInt64 = 4096
    private static let session = Mutex<Session?>(nil)
    private static let environmentChecked = Atomic<Bool>(false)

    private static func startTrace(path: String, capacity: Int) throws(TracingError) {
        guard capacity >= 1 && capacity <= 1 << 28 else { throw .invalidCapacity(capacity) }
        if Trace.isOn { throw .alreadyTracing }
        let table = ProcessTable.shared
        try session.withLock { (current) throws(TracingError) in
            if current != nil && current!.owner == table.pid { throw .alreadyTracing }
            guard let region = mp_trace_create(UInt64(capacity), names) else {
                throw .system(SystemError("mmap", errno: mp_errno()))
            }
            current = Session(path: path, region: region, capacity: UInt64(capacity), owner: table.pid)
            // The owner's lane, even when it records nothing else (a program that only forks and waits).
            mp_trace_name(region, table.pid, table.current.name)
            mp_trace_append(region, Trace.kind(.process, .started), UInt64(UInt32(bitPattern: table.pid)), 0)
            mp_trace_set_active(region)
        }
        ProcessTable.installExitHook()
    }

    /// Takes this process's own session, if it started one, and stops recording into its region.
    private static func endSession() -> Session? {
        let pid = ProcessTable.shared.pid
        guard
            let ended = session.withLock({ (current) -> Session? in
                guard let session = current, session.owner == pid else { return nil }
                current = nil
                return session
            })
        else { return nil }
        if mp_trace_active() == ended.region { mp_trace_set_active(nil) }
        return ended
    }

    /// Ends this process's own trace: stops recording and merges the records.
    private static func finish() -> (TraceSummary, TraceTimeline, String)? {
        guard let ended = endSession() else { return nil }
        mp_trace_seal(ended.region)
        let timeline = TraceTimeline(
            region: ended.region, ownerName: ProcessTable.shared.current.name, stop: mp_trace_now())
        mp_trace_discard(ended.region, ended.capacity, names)
        let summary = TraceSummary(
            path: ended.path, eventCount: timeline.recorded, droppedCount: timeline.dropped,
            processCount: timeline.lanes.count)
        return (summary, timeline, ended.path)
    }

    /// Starts the trace `MP_TRACE` asks for, the first time the runtime is used in this process
    /// tree (a fork copies the flag: children never read it themselves).
    static func startIfAsked() {
        guard !environmentChecked.load(ordering: .relaxed) else { return }
        guard environmentChecked.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        else { return }
        guard let path = Sys.environment("MP_TRACE"), !path.isEmpty, !Trace.isOn else { return }
        do {
            try startTrace(path: path, capacity: defaultCapacity)
        } catch {
            Sys.writeAll("MP_TRACE: cannot trace: \(error)\n", to: 2)
        }
    }

    /// At the normal end of any process: the one that started the trace writes it.
    static func finishAtExit() {
        guard let region = mp_trace_active(), mp_trace_owner(region) == ProcessTable.shared.pid else { return }
        do {
            try stop()
        } catch {
            Sys.writeAll("Tracing: \(error)\n", to: 2)
        }
    }
}

/// What ``Tracing/stop()`` wrote.
public struct TraceSummary: Equatable, Sendable {
    /// The file written.
    public let path: String
    /// The events kept.
    public let eventCount: Int
    /// The events lost because the region was full (see ``Tracing/start(writingTo:capacity:)``).
    public let droppedCount: Int
    /// The processes that recorded at least one event.
    public let processCount: Int
}

/// Why a trace could not start or be written.
public enum TracingError: Error, Equatable, CustomStringConvertible, Sendable {
    /// This process already records a trace (its own, or its parent's that it inherited).
    case alreadyTracing
    /// The capacity asked for is below 1 or above 2^28 events.
    case invalidCapacity(Int)
    /// The shared region could not be mapped.
    case system(SystemError)
    /// The trace file could not be written.
    case cannotWrite(path: String, SystemError)

    /// A sentence saying what went wrong.
    public var description: String {
        switch self {
        case .alreadyTracing: return "a trace is already being recorded in this process"
        case .invalidCapacity(let capacity): return "a trace cannot keep \(capacity) events (1 to 2^28)"
        case .system(let error): return "cannot map the trace region: \(error)"
        case .cannotWrite(let path, let error): return "cannot write the trace to \(path): \(error)"
        }
    }
}
