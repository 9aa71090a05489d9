// The parent's side of a pool: the job queue, the I/O thread, and the workers as the parent sees them.
//
// One plain thread (the I/O thread) does all the pool's I/O. It forks the zygote, asks it for
// workers, hands queued jobs to workers with spare capacity, reads their answers, completes
// results (running callbacks), and learns of every worker's death from the zygote, which reaps
// them. Its sockets are non-blocking and it buffers what a worker cannot take yet, so it never
// blocks on a write: a worker blocked writing a big result back is always read. (This is why one
// thread suffices where CPython needs a task handler and a result handler: the classic deadlock
// needs a sender that blocks.) The callers' threads only encode inputs and queue jobs.
//
// Pacing: a worker may be sent a few jobs ahead (as many as fit in about 1 ms of its measured job
// time), so tiny jobs do not wait for a round trip; a worker with nothing to do takes unstarted jobs
// back from a busy one (see `PoolSlots`), so a long job never holds up the jobs queued behind it.
// These decisions are `PoolScheduler`'s; the engine carries them out.
//
// Faults: a worker claims each job in shared memory before running it. When a worker dies, its
// unanswered jobs are split by their claims: the one it was running fails with `workerDied`
// (naming the exit status or signal the zygote reported); the ones it never started go back to the
// front of the queue. A replacement is forked, and nothing waits for ever. A worker that cannot be
// forked while the pool starts breaks the pool (its other processes are killed first; its jobs,
// later calls and join() throw `.workerStartFailed`); one that cannot be forked later, as a
// replacement, is retried (PoolScheduler.spawnFailed).
//
// Start and end overlap with work: `Pool()` returns once the zygote is forked, and the first job
// runs as soon as the first worker is up; a closed pool whose workers are all idle tells them to
// stop and the zygote to reap them and exit, and ends without waiting for each death report.
//
// A zygote that stops answering (no reply to a spawn request, no death report for a worker whose
// socket ended, within `PoolTuning.answerTimeout`) is killed and replaced: its workers die with it
// (their parent-death signal), their jobs are settled as above, and a new zygote forks new workers. It is
// forked from a process with threads, so it could in principle inherit a lock some other thread
// held at that instant; this turns that rare hang into a short pause.

import CMultiprocessingShims
import Glibc
import Synchronization

final class PoolEngine: @unchecked Sendable {
    enum Phase: Equatable {
        case running
        case closed
        case terminating
        case terminated
        case broken(PoolError)

        /// Why a call that queues work fails in this phase; nil while running.
        func refusal(of operation: PoolOperation) -> PoolError? {
            switch self {
            case .running: return nil
            case .closed: return .notRunning(operation: operation, state: .closed)
            case .terminating, .terminated: return .notRunning(operation: operation, state: .terminated)
            case .broken(let error): return error
            }
        }
    }

    let processes: Int
    let maxTasksPerChild: Int?
    /// Only this process may use the pool: a forked child has a copy of the object, not the pool.
    let ownerPid: pid_t
    let template: WorkerLaunch.Template
    let slots: PoolSlots
    /// The parent's and the zygote's ends of the control socket (new ones when the zygote is replaced).
    var controlFd: Int32
    var zygoteEnd: Int32
    let wakeFd: Int32
    let workerMask: sigset_t
    private(set) var thread: PlainThread?
    let nextJobID = Atomic<UInt64>(1)

    // Shared with the callers' threads, under `monitor`.
    let monitor = LocalMonitor()
    var phase = Phase.running
    var queue = Deque<PoolJob>()
    /// The I/O thread is (about to be) asleep in poll and should be woken for new work.
    var wakeOnSubmit = false
    var finished = false
    var startup: Result<pid_t, SystemError>?
    /// Set once `startup` is (for `awaitZygoteFork`, which watches it without the lock).
    let forked = Atomic<Bool>(false)
    var livePids: [Int: pid_t] = [:]
    var zygote: pid_t = 0
    /// Jobs a dead worker had not started, sent to another (for tests).
    var requeued = 0
    /// Jobs taken back from a busy worker for an idle one (for tests).
    var stolen = 0

    // The I/O thread's own.
    /// Which worker gets which job, and when a process is presumed stuck (decisions only).
    var scheduler: PoolScheduler<PoolJob>
    /// Each live worker's socket and buffers, by slot (the same slots as `scheduler.workers`).
    var channels: [WorkerChannel?]
    /// Zygotes forked so far (1 for the first; a replacement gets the next).
    var zygotesForked = 0
    let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)

    init(
        processes: Int, maxTasksPerChild: Int?, tuning: PoolTuning, body: @escaping (WorkerLaunch) -> Never
    ) throws(PoolError) {
        self.processes = processes
        self.maxTasksPerChild = maxTasksPerChild
        _ = Self.zygoteCallsBound
        ownerPid = ProcessTable.shared.pid
        scheduler = PoolScheduler(
            .init(processes: processes, maxTasksPerChild: maxTasksPerChild, answerTimeout: tuning.answerTimeout))
        channels = Array(repeating: nil, count: processes)
        workerMask = Sys.signalMask()
        var layout = SharedLayout()
        let fields = PoolSlots.reserve(in: &layout, processes: processes)
        slots = try PoolError.wrapping { () throws(SystemError) in
            PoolSlots(initializing: fields, in: try SharedMemory(layout))
        }
        template = WorkerLaunch.Template(
            body: body, slots: slots, maxTasks: maxTasksPerChild, startup: tuning.workerStartup)
        var opened: [Int32] = []
        do throws(SystemError) {
            let (parentEnd, childEnd) = try Self.makeControlSocket()
            opened = [parentEnd, childEnd]
            let wake = try PoolDescriptors.lock.withLock { () throws(SystemError) in
                let fd = try Sys.eventDescriptor()
                PoolDescriptors.open.insert(fd)
                return fd
            }
            controlFd = parentEnd
            zygoteEnd = childEnd
            wakeFd = wake
        } catch {
            for fd in opened { PoolDescriptors.close(fd) }
            throw .system(error)
        }
    }

    /// Prepares, once in this process, what every zygote would otherwise do again after its fork:
    /// binding the C calls a zygote makes (each zygote resolved six symbols lazily, by LD_DEBUG).
    /// Forked children inherit the bindings.
    private static let zygoteCallsBound: Void = {
        mp_bind_zygote_calls()
    }()

    /// A socket pair for the parent and a zygote, registered as the pool's.
    static func makeControlSocket() throws(SystemError) -> (parentEnd: Int32, zygoteEnd: Int32) {
        try PoolDescriptors.lock.withLock { () throws(SystemError) in
            let pair = try Sys.socketPair(.packets, nonBlocking: false)
            PoolDescriptors.open.insert(pair.0)
            PoolDescriptors.open.insert(pair.1)
            return pair
        }
    }

    /// Starts the I/O thread, which forks the zygote and asks it for the workers. Returns once the
    /// zygote is forked: the workers are forked meanwhile, and a job waits for the first one up
    /// (not for all of them: a pool started for one task would wait for forks it does not need).
    /// A worker that cannot be forked breaks the pool with `.workerStartFailed`, which the calls
    /// that queue work and `join()` then throw (`startFailure`).
    func start() throws(PoolError) {
        // The zygote, and every worker, runs on a copy of this thread's stack: give it a main-sized one.
        let thread: PlainThread
        do throws(SystemError) {
            thread = try PlainThread(stackSize: 8 << 20) { [self] in ioThreadMain() }
        } catch {
            closeAll()
            throw .system(error)
        }
        self.thread = thread
        awaitZygoteFork()
        let result = monitor.withLock {
            while startup == nil { _ = monitor.wait(until: nil) }
            return startup!
        }
        if case .failure(let error) = result {
            thread.join()
            closeAll()
            throw .system(error)
        }
    }

    /// Watches `forked` for up to `PoolEngine.forkSpin` before `start()` sleeps on the monitor, on a
    /// machine with more than one CPU. The fork takes about 100 µs; a thread woken from a sleep then
    /// waited for a CPU behind the new zygote and its first workers (traced on 2 cores: often 300 µs,
    /// and every first job waits for this thread to queue it). Watching takes nothing from them (the
    /// zygote cannot run before the fork returns), and it yields the CPU at each look, so that the
    /// I/O thread is not held up when it has to share this thread's CPU. A longer fork (a big
    /// parent) ends in the sleep.
    private func awaitZygoteFork() {
        guard Self.spinsForFork else { return }
        let deadline = Sys.monotonicNanoseconds + Self.forkSpin
        while !forked.load(ordering: .acquiring) && Sys.monotonicNanoseconds < deadline { Sys.yieldProcessor() }
    }

    /// How long `start()` watches for the zygote's fork before it sleeps (nanoseconds).
    static let forkSpin: Int64 = 300_000
    /// Whether spinning can help: with one CPU it would only delay the fork it waits for.
    static let spinsForFork = Sys.cpuCount() > 1

    /// The error of a worker that could not be forked while the pool started, if that broke it.
    var startFailure: PoolError? {
        monitor.withLock {
            guard case .broken(let error) = phase, case .workerStartFailed = error else { return nil }
            return error
        }
    }

    /// After a failed start: closes what is left open; the engine counts as finished (so
    /// `terminate()` from the pool's deinit touches nothing).
    func closeAll() {
        monitor.withLock { finished = true }
        for fd in [controlFd, zygoteEnd, wakeFd]
        where PoolDescriptors.lock.withLock({ PoolDescriptors.open.contains(fd) }) {
            PoolDescriptors.close(fd)
        }
    }

    // MARK: The callers' side

    var isOwnedByThisProcess: Bool { ProcessTable.shared.pid == ownerPid }

    func makeJobID() -> UInt64 {
        nextJobID.add(1, ordering: .relaxed).oldValue
    }

    /// Queues jobs, or throws why the pool takes no more work.
    func submit(_ jobs: [PoolJob], operation: PoolOperation) throws(PoolError) {
        try submit(operation: operation) { queue.append(contentsOf: jobs) }
    }

    func submit(_ job: PoolJob, operation: PoolOperation) throws(PoolError) {
        try submit(operation: operation) { queue.append(job) }
    }

    func submit(operation: PoolOperation, _ enqueue: () -> Void) throws(PoolError) {
        guard isOwnedByThisProcess else { throw .notOwnedByThisProcess(operation: operation) }
        try monitor.withLock { () throws(PoolError) in
            if let refusal = phase.refusal(of: operation) { throw refusal }
            enqueue()
            if wakeOnSubmit {
                wakeOnSubmit = false
                Sys.signalEvent(wakeFd)
            }
        }
    }

    /// Checks that the pool takes work now (for calls that have nothing to queue).
    func checkRunning(operation: PoolOperation) throws(PoolError) {
        guard isOwnedByThisProcess else { throw .notOwnedByThisProcess(operation: operation) }
        try monitor.withLock { () throws(PoolError) in
            if let refusal = phase.refusal(of: operation) { throw refusal }
        }
    }

    func close() {
        guard isOwnedByThisProcess else { return }
        monitor.withLock {
            if phase == .running { phase = .closed }
            if !finished { Sys.signalEvent(wakeFd) }
        }
    }

    /// Stops the workers at once and fails every unfinished job with `.terminated`. Returns when
    /// every process of the pool has been reaped (at once when called from a callback).
    func terminate() {
        guard isOwnedByThisProcess else { return }
        monitor.withLock {
            switch phase {
            case .running, .closed: phase = .terminating
            default: break
            }
            if !finished { Sys.signalEvent(wakeFd) }
        }
        guard let thread else { return }
        if thread.isCurrent {
            thread.detach()  // from a callback: the I/O thread ends by itself once this returns
            return
        }
        waitUntilFinished()
    }

    /// Waits for the end; throws `.workerStartFailed` when a worker could not be forked at the start
    /// (once every process of the pool has been reaped).
    func join() throws(PoolError) {
        guard isOwnedByThisProcess else { throw .notOwnedByThisProcess(operation: .join) }
        if monitor.withLock({ phase == .running }) { throw .joinWhileRunning }
        if thread?.isCurrent == true { throw .blockingCallInCallback(operation: .join) }
        waitUntilFinished()
        if let startFailure { throw startFailure }
    }

    func waitUntilFinished() {
        monitor.withLock {
            while !finished { _ = monitor.wait(until: nil) }
        }
        thread?.join()
    }

    /// The zygote's pid and the workers' pids now (for tests and demos).
    var processIDs: (zygote: pid_t, workers: [pid_t]) {
        monitor.withLock { (zygote, livePids.keys.sorted().map { livePids[$0]! }) }
    }

    var requeuedCount: Int { monitor.withLock { requeued } }
    var stolenCount: Int { monitor.withLock { stolen } }

    /// Waits until `count` workers are up, or the timeout passes; returns their pids.
    func waitForWorkers(count: Int, timeout: Duration) -> [pid_t] {
        let deadline = Deadline(timeout: timeout).instant
        return monitor.withLock {
            while livePids.count < count && !finished && monitor.wait(until: deadline) {}
            return livePids.keys.sorted().map { livePids[$0]! }
        }
    }
}
