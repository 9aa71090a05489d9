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
// Pacing: a worker may be sent a few jobs ahead (as many as fit in about 150 µs of its measured job
// time), so tiny jobs do not wait for a round trip; a worker with nothing to do takes unstarted jobs
// back from a busy one (see `PoolSlots`), so a long job never holds up the jobs queued behind it.
//
// Faults: a worker claims each job in shared memory before running it. When a worker dies, its
// unanswered jobs are split by their claims: the one it was running fails with `workerDied`
// (naming the exit status or signal the zygote reported); the ones it never started go back to the
// front of the queue. A replacement is forked, and nothing waits for ever.
//
// A zygote that stops answering (no reply to a spawn request, no death report for a worker whose
// socket ended, within `zygoteAnswerTimeout`) is killed and replaced: its workers die with it (their
// parent-death signal), their jobs are settled as above, and a new zygote forks new workers. It is
// forked from a process with threads, so it could in principle inherit a lock some other thread
// held at that instant; this turns that rare hang into a short pause.

import Glibc
import Synchronization

/// Receives a job's outcome, on the pool's I/O thread.
protocol PoolJobSink: AnyObject {
    /// The worker answered: a result, chunk result or failure frame.
    func finish(_ job: PoolJob, answer: Frame, worker: String, decoder: DecoderCore)
    /// The job will never be answered.
    func fail(_ job: PoolJob, _ error: PoolError)
}

/// One unit of work: one input (`task`) or a chunk of inputs (`chunk`), encoded as its frame.
final class PoolJob: @unchecked Sendable {
    /// Unique in the pool; a job taken back from a worker gets a new one before it is sent again.
    private(set) var id: UInt64
    let frame: ByteBuffer
    let sink: any PoolJobSink
    /// The position of its first input in the caller's inputs, and how many inputs it carries.
    let index: Int
    let count: Int

    init(id: UInt64, frame: ByteBuffer, sink: any PoolJobSink, index: Int, count: Int) {
        self.id = id
        self.frame = frame
        self.sink = sink
        self.index = index
        self.count = count
    }

    /// Writes a new id into the job and its frame (I/O thread).
    func renumber(_ newID: UInt64) {
        id = newID
        (frame.base + 5).storeBytes(of: newID, as: UInt64.self)
    }

    /// Writes the claim word's position into the frame's aux field, before it is sent (I/O thread).
    func setClaimPosition(_ position: Int) {
        (frame.base + 13).storeBytes(of: UInt64(position), as: UInt64.self)
    }
}

/// A job sent to a worker and not yet answered, with its claim word.
struct InFlight {
    let job: PoolJob
    let position: Int
}

/// The pool-internal descriptors of this process, so that a new zygote closes the other pools'
/// (a copy kept open would hide the end of file that tells their processes the parent is gone).
/// Descriptors are opened, received and closed with the lock held, and the zygote is forked with it
/// held, so its list is exact.
enum PoolDescriptors {
    static let lock = LocalMutex()
    nonisolated(unsafe) static var open: Set<Int32> = []

    static func add(_ fds: Int32...) {
        lock.withLock { for fd in fds { open.insert(fd) } }
    }

    static func close(_ fd: Int32) {
        lock.withLock {
            open.remove(fd)
            Sys.close(fd)
        }
    }
}

/// A FIFO with cheap removal at either end and (rare) insertion at the front.
struct Deque<Element> {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }
    var last: Element? { isEmpty ? nil : storage.last }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func append(contentsOf elements: [Element]) {
        storage.append(contentsOf: elements)
    }

    mutating func popLast() -> Element? {
        isEmpty ? nil : storage.removeLast()
    }

    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func prepend(_ elements: [Element]) {
        storage.replaceSubrange(head..<head, with: elements)
    }

    mutating func removeAll() -> [Element] {
        let all = Array(storage[head...])
        storage.removeAll()
        head = 0
        return all
    }
}

/// A worker as the parent sees it. I/O thread only.
final class WorkerState {
    let slot: Int
    let name: String
    let pid: pid_t
    let fd: Int32
    /// Jobs sent and not yet answered (nor taken back), in the order sent (= the order answered).
    var inflight = Deque<InFlight>()
    /// Claim words not in use by `inflight`: bit i set when position i is free.
    var freePositions = UInt64.max
    /// Jobs sent over its life (for maxTasksPerChild).
    var sent = 0
    let reader = FrameReader()
    /// Bytes for the worker that its socket has not taken yet.
    let output = ByteBuffer(capacity: 64 << 10)
    var outputSent = 0
    var endOfFile = false
    /// Its socket refused a write (it is ending): nothing more is sent to it.
    var writeFailed = false
    /// When its socket ended: from then on the zygote owes us its death report.
    var endedAt: ContinuousClock.Instant?
    /// Until it has reported (in shared memory) that it started: when it was forked.
    var startingSince: ContinuousClock.Instant?
    var stopping = false
    /// Why its stream was abandoned, if it sent something that is not a valid answer.
    var violation: String?

    init(slot: Int, name: String, pid: pid_t, fd: Int32) {
        self.slot = slot
        self.name = name
        self.pid = pid
        self.fd = fd
    }

    var hasPendingOutput: Bool { outputSent < output.count }
}

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
    private let template: WorkerLaunch.Template
    private let shared: SharedMemory
    private let slots: PoolSlots
    /// The parent's and the zygote's ends of the control socket (new ones when the zygote is replaced).
    private var controlFd: Int32
    private var zygoteEnd: Int32
    private let wakeFd: Int32
    private let workerMask: sigset_t
    private(set) var thread: PlainThread?
    private let nextJobID = Atomic<UInt64>(1)

    // Shared with the callers' threads, under `monitor`.
    private let monitor = LocalMonitor()
    private var phase = Phase.running
    private var queue = Deque<PoolJob>()
    /// The I/O thread is (about to be) asleep in poll and should be woken for new work.
    private var wakeOnSubmit = false
    private var finished = false
    private var startup: Result<pid_t, SystemError>?
    private var livePids: [Int: pid_t] = [:]
    private var zygote: pid_t = 0
    /// Jobs a dead worker had not started, sent to another (for tests).
    private var requeued = 0
    /// Jobs taken back from a busy worker for an idle one (for tests).
    private var stolen = 0

    // The I/O thread's own.
    private var workers: [WorkerState?]
    /// When each slot's outstanding spawn request was sent (nil: none): the zygote owes an answer.
    private var spawnAskedAt: [ContinuousClock.Instant?]
    private var retryAt: [ContinuousClock.Instant?]
    /// Zygotes replaced since a worker last started.
    private var zygoteReplacements = 0
    /// Workers in a row that never finished starting (killed after `zygoteAnswerTimeout`).
    private var stuckStarts = 0
    private var lastWorkerNumber = 0
    /// Moving average of how long a job runs in a worker, in nanoseconds.
    private var jobNanoseconds: Double?
    private let decoder = DecoderCore(maxDepth: BinaryDecoder.defaultMaxDepth)

    /// How much work a worker may be sent ahead, in nanoseconds of its measured job time: enough to
    /// keep it busy while the parent (sharing two cores with it) reads and refills. Jobs sent ahead
    /// are never stuck behind a slow one: an idle worker takes them back (see `assignJobs`).
    private static let queuedWorkBudget = 1_000_000.0
    /// At most this many jobs per worker (fewer than the 64 claim words of a slot).
    private static let maxDepth = 48
    /// How long the zygote may take to answer a spawn request or report a worker's death, and a new
    /// worker to start, before they are presumed stuck (a fork takes well under a millisecond;
    /// tests shorten it). Two workers in a row stuck at start-up get their zygote replaced.
    nonisolated(unsafe) package static var zygoteAnswerTimeout = Duration.seconds(10)
    /// Replacements in a row without a working zygote before the pool gives up as broken.
    private static let maxZygoteReplacements = 3

    init(processes: Int, maxTasksPerChild: Int?, body: @escaping (WorkerLaunch) -> Never) throws(PoolError) {
        self.processes = processes
        self.maxTasksPerChild = maxTasksPerChild
        ownerPid = ProcessTable.shared.pid
        workers = Array(repeating: nil, count: processes)
        spawnAskedAt = Array(repeating: nil, count: processes)
        retryAt = Array(repeating: nil, count: processes)
        workerMask = Sys.signalMask()
        do throws(SystemError) {
            shared = try SharedMemory(byteCount: PoolSlots.byteCount(processes: processes))
        } catch {
            throw .system(error)
        }
        slots = PoolSlots(
            words: shared.base.bindMemory(
                to: Atomic<UInt64>.self,
                capacity: processes * PoolSlots.wordsPerSlot))
        template = WorkerLaunch.Template(body: body, slots: slots, maxTasks: maxTasksPerChild)
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

    /// A socket pair for the parent and a zygote, registered as the pool's.
    private static func makeControlSocket() throws(SystemError) -> (parentEnd: Int32, zygoteEnd: Int32) {
        try PoolDescriptors.lock.withLock { () throws(SystemError) in
            let pair = try Sys.socketPair(.packets)
            PoolDescriptors.open.insert(pair.0)
            PoolDescriptors.open.insert(pair.1)
            return pair
        }
    }

    /// Starts the I/O thread, which forks the zygote and asks it for the workers. Returns once the
    /// zygote exists (the workers come up in the background).
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

    /// After a failed start: closes what is left open; the engine counts as finished (so
    /// `terminate()` from the pool's deinit touches nothing).
    private func closeAll() {
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

    private func submit(operation: PoolOperation, _ enqueue: () -> Void) throws(PoolError) {
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

    func join() throws(PoolError) {
        guard isOwnedByThisProcess else { throw .notOwnedByThisProcess(operation: .join) }
        if monitor.withLock({ phase == .running }) { throw .joinWhileRunning }
        if thread?.isCurrent == true { throw .blockingCallInCallback(operation: .join) }
        waitUntilFinished()
    }

    private func waitUntilFinished() {
        monitor.withLock {
            while !finished { _ = monitor.wait(until: nil) }
        }
        thread?.join()
    }

    var isFinished: Bool { monitor.withLock { finished } }

    /// The zygote's pid and the workers' pids now (for tests and demos).
    var processIDs: (zygote: pid_t, workers: [pid_t]) {
        monitor.withLock { (zygote, livePids.keys.sorted().map { livePids[$0]! }) }
    }

    var requeuedCount: Int { monitor.withLock { requeued } }
    var stolenCount: Int { monitor.withLock { stolen } }

    /// Waits until `count` workers are up, or the timeout passes; returns their pids.
    func waitForWorkers(count: Int, timeout: Duration) -> [pid_t] {
        let deadline = ContinuousClock.now + timeout
        return monitor.withLock {
            while livePids.count < count && !finished && monitor.wait(until: deadline) {}
            return livePids.keys.sorted().map { livePids[$0]! }
        }
    }

    // MARK: The I/O thread

    private func ioThreadMain() {
        let result = Result { () throws(SystemError) in try forkZygote() }
        monitor.withLock {
            startup = result
            if case .failure = result { finished = true }
        }
        monitor.broadcast()
        guard case .success = result else { return }
        for slot in 0..<processes { requestSpawn(slot) }
        run()
    }

    /// Forks a zygote on the control socket's zygote end (I/O thread), which is then closed here.
    private func forkZygote() throws(SystemError) -> pid_t {
        let parentPid = ProcessTable.shared.pid
        let (pid, forkError): (pid_t, Int32) = PoolDescriptors.lock.withLock {
            let toClose = Array(PoolDescriptors.open.subtracting([zygoteEnd]))
            ProcessTable.shared.prepareToFork(installExitHandler: false)
            let pid = Glibc.fork()
            if pid == 0 {
                runZygote(
                    ZygoteLaunch(
                        controlFd: zygoteEnd, parentPid: parentPid, workerMask: workerMask,
                        descriptorsToClose: toClose, worker: template))
            }
            return (pid, Sys.errno)
        }
        PoolDescriptors.close(zygoteEnd)
        if pid < 0 { throw SystemError("fork", errno: forkError) }
        ProcessTable.shared.forked(childPid: pid)
        monitor.withLock { zygote = pid }
        return pid
    }

    private var depthLimit: Int {
        guard let nanoseconds = jobNanoseconds else { return 1 }
        return max(1, min(Self.maxDepth, Int(Self.queuedWorkBudget / max(nanoseconds, 1))))
    }

    private func canTake(_ worker: WorkerState, depth: Int) -> Bool {
        if worker.endOfFile || worker.writeFailed || worker.stopping || worker.inflight.count >= depth { return false }
        if let maxTasksPerChild, worker.sent >= maxTasksPerChild { return false }
        return true
    }

    /// With `monitor` held: gives queued jobs to the least loaded workers with spare capacity; once
    /// the queue is empty, a worker with nothing to do takes back the last unstarted job of the
    /// busiest one.
    private func assignJobs() {
        let depth = depthLimit
        while let job = queue.first {
            var best: WorkerState?
            for case let worker? in workers where canTake(worker, depth: depth) {
                if best == nil || worker.inflight.count < best!.inflight.count { best = worker }
            }
            guard let worker = best else { return }
            _ = queue.popFirst()
            send(job, to: worker)
        }
        for case let idle? in workers where idle.inflight.isEmpty && canTake(idle, depth: depth) {
            var victim: WorkerState?
            for case let busy? in workers where busy.inflight.count >= 2 {
                if victim == nil || busy.inflight.count > victim!.inflight.count { victim = busy }
            }
            guard let victim, let last = victim.inflight.last else { return }
            // Fails when the worker has just started it: then it is no longer queued there.
            guard
                slots.claim(victim.slot, last.position).pointee.compareExchange(
                    expected: last.job.id, desired: PoolSlots.stolen, ordering: .acquiringAndReleasing
                ).exchanged
            else { continue }
            _ = victim.inflight.popLast()
            victim.freePositions |= 1 << UInt64(last.position)
            victim.sent -= 1
            stolen += 1
            last.job.renumber(makeJobID())  // the victim still reads the old frame, and skips it
            send(last.job, to: idle)
        }
    }

    /// Hands a job to a worker: its claim word, then its frame into the worker's output.
    private func send(_ job: PoolJob, to worker: WorkerState) {
        let position = worker.freePositions.trailingZeroBitCount
        worker.freePositions &= ~(1 << UInt64(position))
        slots.claim(worker.slot, position).pointee.store(job.id, ordering: .releasing)
        job.setClaimPosition(position)
        worker.inflight.append(InFlight(job: job, position: position))
        worker.output.append(job.frame.bytes)
        worker.sent += 1
    }

    /// With `monitor` held: whether some worker could take a job now.
    private func hasSpareCapacity() -> Bool {
        let depth = depthLimit
        return workers.contains { $0.map { canTake($0, depth: depth) } ?? false }
    }

    private func run() {
        var entries: [pollfd] = []
        var owners: [WorkerState?] = []
        while true {
            var current = Phase.running
            var drained = false
            monitor.withLock {
                current = phase
                if phase == .running || phase == .closed { assignJobs() }
                drained = phase == .closed && queue.isEmpty
            }
            switch current {
            case .terminating:
                shutDown(failingWith: .terminated)
                return
            case .broken(let error):
                shutDown(failingWith: error)
                return
            default:
                break
            }
            if drained {
                var anyWorker = false
                for case let worker? in workers {
                    anyWorker = true
                    if worker.inflight.isEmpty && !worker.stopping {
                        worker.stopping = true
                        worker.output.finishFrame(startedAt: worker.output.startFrame(.stop, id: 0))
                    }
                }
                if !anyWorker && !isSpawning {
                    shutDown(failingWith: nil)
                    return
                }
            }
            for case let worker? in workers where worker.hasPendingOutput && !worker.writeFailed { flush(worker) }

            entries.removeAll(keepingCapacity: true)
            owners.removeAll(keepingCapacity: true)
            entries.append(pollfd(fd: wakeFd, events: Int16(POLLIN), revents: 0))
            entries.append(pollfd(fd: controlFd, events: Int16(POLLIN), revents: 0))
            owners.append(nil)
            owners.append(nil)
            for case let worker? in workers where !worker.endOfFile {
                let events = POLLIN | (worker.hasPendingOutput && !worker.writeFailed ? POLLOUT : 0)
                entries.append(pollfd(fd: worker.fd, events: Int16(events), revents: 0))
                owners.append(worker)
            }
            var deadline: ContinuousClock.Instant?
            for case let instant? in retryAt { deadline = min(deadline ?? instant, instant) }
            if let owed = zygoteOwesAnswerSince() {
                let instant = owed + Self.zygoteAnswerTimeout
                deadline = min(deadline ?? instant, instant)
            }
            let mustLoop = monitor.withLock { () -> Bool in
                if phase != current { return true }
                let spare = hasSpareCapacity()
                if phase == .running && !queue.isEmpty && spare { return true }
                wakeOnSubmit = spare
                return false
            }
            if mustLoop { continue }
            do throws(SystemError) {
                _ = try Sys.pollAll(&entries, deadline: deadline)
            } catch {
                breakPool(.system(error))
                continue
            }
            monitor.withLock { wakeOnSubmit = false }
            if entries[0].revents != 0 { Sys.drainEvents(wakeFd) }
            for index in 2..<entries.count where entries[index].revents != 0 {
                guard let worker = owners[index] else { continue }
                let revents = Int32(entries[index].revents)
                if revents & (POLLIN | POLLHUP | POLLERR) != 0 { receive(from: worker) }
                if revents & POLLOUT != 0 && !worker.writeFailed { flush(worker) }
            }
            if entries[1].revents != 0 { handleControlMessages() }
            retrySpawns()
            checkStartingWorkers()
            if let owed = zygoteOwesAnswerSince(), ContinuousClock.now - owed >= Self.zygoteAnswerTimeout {
                replaceZygote()
            }
        }
    }

    /// Whether a spawn request waits for the zygote's answer.
    private var isSpawning: Bool { spawnAskedAt.contains { $0 != nil } }

    /// Since when the zygote has owed the oldest answer it has not given yet, if any.
    private func zygoteOwesAnswerSince() -> ContinuousClock.Instant? {
        var oldest: ContinuousClock.Instant?
        for case let instant? in spawnAskedAt { oldest = min(oldest ?? instant, instant) }
        for case let worker? in workers {
            if let instant = worker.endedAt { oldest = min(oldest ?? instant, instant) }
            if let instant = worker.startingSince { oldest = min(oldest ?? instant, instant) }
        }
        return oldest
    }

    /// Workers that reported they started stop being watched; a worker that has not after the
    /// timeout is killed (its jobs had not started: they go to the others). The second in a row
    /// means the zygote's copy of the program is stuck (a lock inherited held): it is replaced.
    private func checkStartingWorkers() {
        let now = ContinuousClock.now
        for case let worker? in workers {
            guard let since = worker.startingSince else { continue }
            let status = slots.status(worker.slot).pointee.load(ordering: .acquiring)
            if status == PoolSlots.started(worker.pid) || status == PoolSlots.initializing {
                worker.startingSince = nil
                stuckStarts = 0
                zygoteReplacements = 0  // this zygote works
            } else if now - since >= Self.zygoteAnswerTimeout {
                worker.startingSince = nil
                stuckStarts += 1
                markEndOfFile(worker)  // kills it through the zygote, which reports its death
            }
        }
        if stuckStarts >= 2 {
            stuckStarts = 0
            replaceZygote()
        }
    }

    /// The zygote stopped answering: kills it (its workers die with it), settles their jobs, and
    /// forks a new zygote that forks new workers. After several in a row, the pool is broken.
    private func replaceZygote() {
        zygoteReplacements += 1
        guard zygoteReplacements <= Self.maxZygoteReplacements else {
            breakPool(
                .broken(
                    reason: "its zygote process or its new workers kept getting stuck "
                        + "(\(Self.maxZygoteReplacements) zygotes replaced in a row)"))
            return
        }
        let old = monitor.withLock { () -> pid_t in
            defer { zygote = 0 }
            return zygote
        }
        if old > 0 {
            _ = Glibc.kill(old, SIGKILL)
            _ = try? Sys.reap(old)
        }
        // Its workers were sent SIGKILL, their parent-death signal, before it could be reaped: none
        // of them runs any more, so their claims say exactly which jobs had started.
        for case let worker? in workers { _ = retire(worker, status: .signaled(SIGKILL), checkInitializer: false) }
        PoolDescriptors.close(controlFd)
        for slot in 0..<processes {
            spawnAskedAt[slot] = nil
            retryAt[slot] = nil
        }
        do throws(SystemError) {
            (controlFd, zygoteEnd) = try Self.makeControlSocket()
            _ = try forkZygote()
        } catch {
            breakPool(.system(error))
            return
        }
        let wanted = monitor.withLock { phase == .running || (phase == .closed && !queue.isEmpty) }
        if wanted {
            for slot in 0..<processes { requestSpawn(slot) }
        }
    }

    /// Sends what the worker's socket takes now.
    private func flush(_ worker: WorkerState) {
        do throws(SystemError) {
            let sent = try Sys.sendAvailable(
                worker.fd, worker.output.base + worker.outputSent,
                count: worker.output.count - worker.outputSent)
            worker.outputSent += sent
            if worker.outputSent == worker.output.count {
                worker.output.reset(keepingAtMost: 1 << 20)
                worker.outputSent = 0
            }
        } catch {
            // EPIPE: it is ending. Keep reading what it wrote; its death report comes from the zygote.
            worker.output.reset()
            worker.outputSent = 0
            worker.writeFailed = true
        }
    }

    private func markEndOfFile(_ worker: WorkerState) {
        guard !worker.endOfFile else { return }
        worker.endOfFile = true
        worker.endedAt = ContinuousClock.now
        worker.startingSince = nil  // its fate is now the zygote's death report
        // A worker closes its socket only by ending; make sure it does, so its death is reported.
        sendToZygote(ControlMessage(.kill, Int64(worker.pid)))
    }

    /// Reads and handles everything the worker has sent.
    private func receive(from worker: WorkerState) {
        while !worker.endOfFile {
            let result: FrameReader.ReadResult
            do throws(SystemError) {
                result = try worker.reader.readAvailable(from: worker.fd)
            } catch {
                markEndOfFile(worker)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .endOfFile:
                markEndOfFile(worker)
                return
            case .data(let filled):
                do throws(ProtocolViolation) {
                    try handleFrames(from: worker)
                } catch {
                    // Its running job fails when its death (which we cause) is reported.
                    worker.violation = "\(worker.name) sent a corrupt message (\(error)) and was stopped"
                    markEndOfFile(worker)
                    return
                }
                // A read that did not fill the buffer took everything there was: poll says when
                // there is more (saves a read that would only say EAGAIN).
                if !filled { return }
            }
        }
    }

    private func handleFrames(from worker: WorkerState) throws(ProtocolViolation) {
        while let frame = try worker.reader.nextFrame() {
            if frame.kind == FrameKind.initializerFailed.rawValue {
                let description = (try? decoder.decode(RemoteFailure.self, from: frame.body))?.description ?? "?"
                breakPool(.initializerFailed(worker: worker.name, description: description))
                continue
            }
            guard let head = worker.inflight.first, head.job.id == frame.id else {
                throw ProtocolViolation(description: "an answer to job \(frame.id), which it was not running")
            }
            _ = worker.inflight.popFirst()
            worker.freePositions |= 1 << UInt64(head.position)
            let job = head.job
            let nanoseconds = Double(frame.aux)
            jobNanoseconds = jobNanoseconds.map { $0 + (nanoseconds - $0) / 8 } ?? nanoseconds
            job.sink.finish(job, answer: frame, worker: worker.name, decoder: decoder)
        }
    }

    private func handleControlMessages() {
        var buffer = [UInt8](repeating: 0, count: ControlMessage.size)
        while true {
            // Received under the registry lock: the descriptor it may carry is registered before
            // another pool could fork a zygote that would inherit it unregistered.
            let receipt = buffer.withUnsafeMutableBytes { raw in
                PoolDescriptors.lock.withLock { () -> Result<Sys.PacketReceipt, SystemError> in
                    let result = Result { () throws(SystemError) in
                        try Sys.receivePacket(controlFd, into: raw, wait: false)
                    }
                    if case .success(.received(_, let fd?)) = result { PoolDescriptors.open.insert(fd) }
                    return result
                }
            }
            switch receipt {
            case .success(.wouldBlock):
                return
            case .success(.endOfFile), .failure:
                breakPool(.broken(reason: "its zygote process ended"))
                return
            case .success(.received(let count, let fd)):
                guard count == ControlMessage.size else {
                    if let fd { PoolDescriptors.close(fd) }
                    continue
                }
                let message = buffer.withUnsafeBytes { ControlMessage(bytes: $0) }
                switch ControlMessage.Kind(rawValue: message.kind) {
                case .spawned?:
                    guard let fd else {
                        // The socket did not arrive (descriptor table full): that worker is no use.
                        sendToZygote(ControlMessage(.kill, message.c))
                        spawnFailed(
                            slot: Int(message.a), error: SystemError("recvmsg (a worker's socket)", errno: EMFILE))
                        continue
                    }
                    workerStarted(slot: Int(message.a), number: Int(message.b), pid: pid_t(message.c), fd: fd)
                case .spawnFailed?:
                    if let fd { PoolDescriptors.close(fd) }
                    spawnFailed(slot: Int(message.a), error: SystemError("fork", errno: Int32(message.c)))
                case .died?:
                    if let fd { PoolDescriptors.close(fd) }
                    workerDied(pid: pid_t(message.a), status: ExitStatus(kind: message.b, value: message.c))
                default:
                    if let fd { PoolDescriptors.close(fd) }
                }
            }
        }
    }

    private func sendToZygote(_ message: ControlMessage) {
        // None while one is being replaced: the old one is gone, the new one not forked yet.
        guard monitor.withLock({ zygote }) > 0 else { return }
        do throws(SystemError) {
            try message.send(on: controlFd)
        } catch {
            breakPool(.broken(reason: "its zygote process ended"))
        }
    }

    private func requestSpawn(_ slot: Int) {
        lastWorkerNumber += 1
        spawnAskedAt[slot] = ContinuousClock.now
        retryAt[slot] = nil
        sendToZygote(ControlMessage(.spawn, Int64(slot), Int64(lastWorkerNumber)))
    }

    /// Forks that failed are tried again after a pause, as long as there is work for the worker.
    private func retrySpawns() {
        guard retryAt.contains(where: { $0 != nil }) else { return }
        let wanted = monitor.withLock { phase == .running || (phase == .closed && !queue.isEmpty) }
        let now = ContinuousClock.now
        for slot in 0..<processes {
            guard let instant = retryAt[slot] else { continue }
            if !wanted {
                retryAt[slot] = nil
            } else if instant <= now {
                requestSpawn(slot)
            }
        }
    }

    private func workerStarted(slot: Int, number: Int, pid: pid_t, fd: Int32) {
        guard slot >= 0 && slot < processes, workers[slot] == nil else {
            PoolDescriptors.close(fd)
            return
        }
        spawnAskedAt[slot] = nil
        try? Sys.setNonBlocking(fd)
        let worker = WorkerState(slot: slot, name: "PoolWorker-\(number)", pid: pid, fd: fd)
        worker.startingSince = ContinuousClock.now
        workers[slot] = worker
        monitor.withLock { livePids[slot] = pid }
        monitor.broadcast()
    }

    private func spawnFailed(slot: Int, error: SystemError) {
        guard slot >= 0 && slot < processes else { return }
        spawnAskedAt[slot] = nil
        retryAt[slot] = ContinuousClock.now + .milliseconds(100)
        // With no worker at all, queued work would wait for ever: fail it now.
        if workers.allSatisfy({ $0 == nil }) && !isSpawning {
            let queued = monitor.withLock { queue.removeAll() }
            for job in queued { job.sink.fail(job, .system(error)) }
        }
    }

    private func workerDied(pid: pid_t, status: ExitStatus) {
        guard let worker = workers.first(where: { $0?.pid == pid }) ?? nil else { return }
        if retire(worker, status: status) { requestSpawn(worker.slot) }
    }

    /// Settles the jobs of a worker that has died: the one it had started fails, the others go
    /// back to the queue. Returns whether it should be replaced.
    private func retire(_ worker: WorkerState, status: ExitStatus, checkInitializer: Bool = true) -> Bool {
        // Everything it wrote before it died is in the socket: take it first.
        receive(from: worker)
        if checkInitializer && slots.status(worker.slot).pointee.load(ordering: .acquiring) == PoolSlots.initializing {
            breakPool(.initializerFailed(worker: worker.name, description: "the worker \(status) while running it"))
        }
        var unanswered: [PoolJob] = []
        for entry in worker.inflight.removeAll() {
            if slots.claim(worker.slot, entry.position).pointee.load(ordering: .acquiring) == PoolSlots.claimed {
                entry.job.sink.fail(
                    entry.job,
                    worker.violation.map { .broken(reason: $0) }
                        ?? .workerDied(worker: worker.name, pid: worker.pid, status: status))
            } else {
                unanswered.append(entry.job)
            }
        }
        let respawn = monitor.withLock { () -> Bool in
            queue.prepend(unanswered)  // never started: they run elsewhere
            requeued += unanswered.count
            livePids[worker.slot] = nil
            return phase == .running || (phase == .closed && !queue.isEmpty)
        }
        PoolDescriptors.close(worker.fd)
        workers[worker.slot] = nil
        return respawn
    }

    private func breakPool(_ error: PoolError) {
        monitor.withLock {
            switch phase {
            case .running, .closed: phase = .broken(error)
            default: break
            }
        }
    }

    /// The end of the I/O thread. `error` nil: a graceful end (closed, every job done, every worker
    /// gone). Otherwise kills everything and fails every unfinished job with `error`.
    private func shutDown(failingWith error: PoolError?) {
        // Not sendToZygote: a zygote that is already gone must not turn this end into "broken".
        if let error {
            try? ControlMessage(.terminate).send(on: controlFd)
            let queued = monitor.withLock { queue.removeAll() }
            for case let worker? in workers {
                for entry in worker.inflight.removeAll() { entry.job.sink.fail(entry.job, error) }
            }
            for job in queued { job.sink.fail(job, error) }
        } else {
            try? ControlMessage(.exit).send(on: controlFd)
        }
        for case let worker? in workers { PoolDescriptors.close(worker.fd) }
        workers = Array(repeating: nil, count: processes)
        let zygotePid = monitor.withLock { zygote }
        if zygotePid > 0 && (try? Sys.reap(zygotePid, deadline: ContinuousClock.now + .seconds(2))) == nil {
            _ = Glibc.kill(zygotePid, SIGKILL)
            _ = try? Sys.reap(zygotePid)
        }
        PoolDescriptors.close(controlFd)
        monitor.withLock {
            if phase == .terminating { phase = .terminated }
            livePids = [:]
            finished = true
            PoolDescriptors.close(wakeFd)  // under the lock: close() and terminate() signal it only before
        }
        monitor.broadcast()
    }
}
