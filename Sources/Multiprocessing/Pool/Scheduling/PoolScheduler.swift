// Which worker gets which job, and when the pool presumes a process stuck: the decisions of the
// pool's I/O thread as a plain value. It decides and never does: no I/O, no clock reads (the caller
// passes `now`), no locks (its owner, the I/O thread, is its only user). The engine carries out what
// it returns (claim words, frames, control messages) and tells it what happened.
//
// Depends on nothing but Deque (and ProtocolViolation, the error of a corrupt stream).

/// A job as the scheduler sees it: something with an id, unique among the jobs in flight.
protocol SchedulableJob: AnyObject {
    var id: UInt64 { get }
}

/// The pool's scheduling state and decisions (I/O thread only).
///
/// Pacing: a worker may be sent a few jobs ahead (as many as fit in `queuedWorkBudget` of its
/// measured job time, at most `maxDepth`; one until a job has been measured); the least loaded
/// worker gets the next job; once the queue is empty, a worker with nothing to do takes back the
/// last unstarted job of the busiest one. Faults: a worker that does not report it started within
/// `answerTimeout` is killed, two in a row get the zygote replaced, and after
/// `maxZygoteReplacements` replacements in a row without a worker starting the pool breaks. A fork
/// that fails while the pool starts fails the pool; one that fails later is retried.
struct PoolScheduler<Job: SchedulableJob> {
    struct Configuration {
        var processes: Int
        var maxTasksPerChild: Int?
        /// How long the zygote may owe an answer, and a new worker take to start (PoolTuning).
        var answerTimeout: Duration
        /// How much work a worker may be sent ahead, in nanoseconds of its measured job time: enough
        /// to keep it busy while the parent (sharing two cores with it) reads and refills. Jobs sent
        /// ahead are never stuck behind a slow one: an idle worker takes them back.
        var queuedWorkBudget = 1_000_000.0
        /// At most this many jobs per worker (fewer than the 64 claim words of a slot).
        var maxDepth = 48
        /// Replacements in a row without a working zygote before the pool gives up as broken.
        var maxZygoteReplacements = 3
        /// How long after a failed fork the spawn is tried again.
        var spawnRetryDelay = Duration.milliseconds(100)
    }

    typealias Instant = ContinuousClock.Instant

    /// A job sent to a worker and not yet answered, with the id it was sent with and its claim word.
    struct Sent {
        let job: Job
        let id: UInt64
        let position: Int
    }

    /// The scheduling half of a worker as the parent sees it (its socket is the engine's).
    struct Worker {
        let slot: Int
        let number: Int
        let pid: Int32
        /// Jobs sent and not yet answered (nor taken back), in the order sent (= the order answered).
        fileprivate(set) var inflight = Deque<Sent>()
        /// Claim words not in use by `inflight`: bit i set when position i is free.
        fileprivate(set) var freePositions = UInt64.max
        /// Jobs sent over its life (for maxTasksPerChild).
        fileprivate(set) var sent = 0
        /// When its socket ended: from then on the zygote owes us its death report.
        fileprivate(set) var endedAt: Instant?
        /// Its socket refused a write (it is ending): nothing more is sent to it.
        fileprivate(set) var writeFailed = false
        /// It was sent `stop` (the pool is closed and drained).
        fileprivate(set) var stopping = false
        /// Until it has reported (in shared memory) that it started: when it was forked.
        fileprivate(set) var startingSince: Instant?

        var hasEnded: Bool { endedAt != nil }
    }

    /// Carry out: claim word (slot, position) := job.id, the frame's aux := position, then append the
    /// frame to the worker's output.
    struct Assignment {
        let job: Job
        let slot: Int
        let position: Int
    }

    /// Try: swap the claim word (victim, sent.position) from sent.id to `stolen`; only if that
    /// succeeds, give the job a new id and `commit` it.
    struct TakeBack {
        let victim: Int
        let idle: Int
        let sent: Sent
    }

    enum Drain: Equatable {
        /// Workers are still answering.
        case busy
        /// Send `stop` to these workers (they are marked stopping).
        case stop(slots: [Int])
        /// No worker, none coming: the pool can end.
        case finished
    }

    enum Action: Equatable {
        /// Ask the zygote for worker `number` in `slot`.
        case requestSpawn(slot: Int, number: Int)
        /// Have the zygote kill this worker (its death report settles its jobs).
        case kill(pid: Int32)
        /// Kill the zygote, retire its workers, fork a new one.
        case replaceZygote
        /// The pool cannot work: break it with this reason.
        case breakPool(reason: String)
    }

    /// What a failed spawn means for the pool (`spawnFailed(slot:at:)`).
    enum SpawnFailure: Equatable {
        /// The pool is still starting (a slot has never had a worker): the pool fails to start,
        /// as Python's `multiprocessing.Pool()` does; nothing is retried.
        case startFailed
        /// Tried again after `spawnRetryDelay`; other workers exist or are coming.
        case retry
        /// Tried again after `spawnRetryDelay`, but no worker exists and none is coming: queued work
        /// would wait for ever, so the caller fails it.
        case retryWithNoWorker
    }

    /// A starting worker's status word, as the caller reads it.
    enum StartupStatus {
        case starting
        case started
    }

    let configuration: Configuration
    private(set) var workers: [Worker?]
    /// When each slot's outstanding spawn request was sent (nil: none): the zygote owes an answer.
    private var spawnAskedAt: [Instant?]
    private var retryAt: [Instant?]
    /// Which slots have had a worker (the pool's start is over once every slot has).
    private var hasHadWorker: [Bool]
    /// Zygotes replaced since a worker last started.
    private var zygoteReplacements = 0
    /// Workers in a row that never finished starting (killed after `answerTimeout`).
    private var stuckStarts = 0
    private var lastWorkerNumber = 0
    /// Moving average of how long a job runs in a worker, in nanoseconds.
    private var jobNanoseconds: Double?

    init(_ configuration: Configuration) {
        self.configuration = configuration
        workers = Array(repeating: nil, count: configuration.processes)
        spawnAskedAt = Array(repeating: nil, count: configuration.processes)
        retryAt = Array(repeating: nil, count: configuration.processes)
        hasHadWorker = Array(repeating: false, count: configuration.processes)
    }

    // MARK: Questions

    /// Whether a spawn request waits for the zygote's answer.
    var isSpawning: Bool { spawnAskedAt.contains { $0 != nil } }

    /// Whether the pool is still starting: some slot has never had a worker (its first fork has not
    /// been answered yet). A spawn that fails now fails the pool's start.
    var isStarting: Bool { hasHadWorker.contains(false) }

    /// Whether a failed spawn waits to be tried again.
    var hasSpawnsToRetry: Bool { retryAt.contains { $0 != nil } }

    /// Whether some worker could take a job now.
    var hasSpareCapacity: Bool {
        let depth = depthLimit
        return workers.contains { $0.map { canTake($0, depth: depth) } ?? false }
    }

    /// The slot of the live worker with this pid.
    func slot(ofPid pid: Int32) -> Int? {
        workers.firstIndex { $0?.pid == pid }
    }

    /// How many jobs a worker may have in flight: 1 until a job was measured, then the budget's worth.
    var depthLimit: Int {
        guard let nanoseconds = jobNanoseconds else { return 1 }
        return max(1, min(configuration.maxDepth, Int(configuration.queuedWorkBudget / max(nanoseconds, 1))))
    }

    /// Since when the zygote has owed the oldest answer it has not given yet, if any.
    func zygoteOwesAnswerSince() -> Instant? {
        var oldest: Instant?
        for case let instant? in spawnAskedAt { oldest = min(oldest ?? instant, instant) }
        for case let worker? in workers {
            if let instant = worker.endedAt { oldest = min(oldest ?? instant, instant) }
            if let instant = worker.startingSince { oldest = min(oldest ?? instant, instant) }
        }
        return oldest
    }

    /// When the I/O thread must wake up even if nothing happens: the earliest spawn retry, or when the
    /// oldest answer the zygote owes becomes overdue. nil: only events wake it.
    func pollDeadline() -> Instant? {
        var deadline: Instant?
        for case let instant? in retryAt { deadline = min(deadline ?? instant, instant) }
        if let owed = zygoteOwesAnswerSince() {
            let instant = owed + configuration.answerTimeout
            deadline = min(deadline ?? instant, instant)
        }
        return deadline
    }

    /// Whether the zygote has owed an answer for `answerTimeout` or more at `now`: replace it.
    func zygoteAnswerIsOverdue(at now: Instant) -> Bool {
        guard let owed = zygoteOwesAnswerSince() else { return false }
        return now - owed >= configuration.answerTimeout
    }

    private func canTake(_ worker: Worker, depth: Int) -> Bool {
        if worker.hasEnded || worker.writeFailed || worker.stopping || worker.inflight.count >= depth { return false }
        if let maxTasksPerChild = configuration.maxTasksPerChild, worker.sent >= maxTasksPerChild { return false }
        return true
    }

    // MARK: Events

    /// A spawn request for `slot` is sent now; returns it (with the new worker's number).
    mutating func requestSpawn(slot: Int, at now: Instant) -> Action {
        lastWorkerNumber += 1
        spawnAskedAt[slot] = now
        retryAt[slot] = nil
        return .requestSpawn(slot: slot, number: lastWorkerNumber)
    }

    /// The zygote forked worker `number` for `slot`. False when the slot is not waiting for one (the
    /// caller closes its socket).
    mutating func workerStarted(slot: Int, number: Int, pid: Int32, at now: Instant) -> Bool {
        guard slot >= 0 && slot < configuration.processes, workers[slot] == nil else { return false }
        spawnAskedAt[slot] = nil
        hasHadWorker[slot] = true
        var worker = Worker(slot: slot, number: number, pid: pid)
        worker.startingSince = now
        workers[slot] = worker
        return true
    }

    /// The zygote could not fork a worker for `slot`. While the pool is starting, that is the end of
    /// it (`.startFailed`: a program that cannot get the workers it asked for hears so at once, as
    /// from Python's `multiprocessing.Pool()`). Later (a replacement), the failure is presumed
    /// transient (the process limit, memory) and the spawn is retried after `spawnRetryDelay`;
    /// `.retryWithNoWorker` when no worker exists and none is coming. A slot that does not exist is
    /// ignored (`.retry`).
    mutating func spawnFailed(slot: Int, at now: Instant) -> SpawnFailure {
        guard slot >= 0 && slot < configuration.processes else { return .retry }
        spawnAskedAt[slot] = nil
        if isStarting { return .startFailed }
        retryAt[slot] = now + configuration.spawnRetryDelay
        return workers.allSatisfy { $0 == nil } && !isSpawning ? .retryWithNoWorker : .retry
    }

    /// The worker in `slot` answered job `id` after running it `nanoseconds`: returns the job.
    /// - Throws: `ProtocolViolation` when `id` is not the oldest job it was sent (answers come in order).
    mutating func answered(slot: Int, id: UInt64, ranFor nanoseconds: UInt64) throws(ProtocolViolation) -> Job {
        guard let head = workers[slot]?.inflight.first, head.id == id else {
            throw ProtocolViolation(description: "an answer to job \(id), which it was not running")
        }
        _ = workers[slot]!.inflight.popFirst()
        workers[slot]!.freePositions |= 1 << UInt64(head.position)
        let measured = Double(nanoseconds)
        jobNanoseconds = jobNanoseconds.map { $0 + (measured - $0) / 8 } ?? measured
        return head.job
    }

    /// The worker's socket ended (or was abandoned). The first time only: returns its pid, to have the
    /// zygote kill it (a worker closes its socket only by ending; its death report settles its jobs).
    mutating func streamEnded(slot: Int, at now: Instant) -> Int32? {
        guard let worker = workers[slot], !worker.hasEnded else { return nil }
        workers[slot]!.endedAt = now
        workers[slot]!.startingSince = nil  // its fate is now the zygote's death report
        return worker.pid
    }

    /// The worker's socket refused a write: nothing more is sent to it.
    mutating func writeFailed(slot: Int) {
        workers[slot]?.writeFailed = true
    }

    /// The worker in `slot` is gone: removes it and splits its unanswered jobs into those it had
    /// `started` (they fail) and the others (the caller puts them back at the front of the queue).
    mutating func retire(slot: Int, started: (Sent) -> Bool) -> (failed: [Job], unstarted: [Job]) {
        guard var worker = workers[slot] else { return ([], []) }
        var failed: [Job] = []
        var unstarted: [Job] = []
        for entry in worker.inflight.removeAll() {
            if started(entry) { failed.append(entry.job) } else { unstarted.append(entry.job) }
        }
        workers[slot] = nil
        return (failed, unstarted)
    }

    /// The pool ends: every job in flight, worker by worker in the order sent; no worker is left.
    mutating func abandonAll() -> [Job] {
        var jobs: [Job] = []
        for slot in workers.indices {
            guard var worker = workers[slot] else { continue }
            jobs.append(contentsOf: worker.inflight.removeAll().map(\.job))
            workers[slot] = nil
        }
        return jobs
    }

    /// The zygote is about to be replaced. Returns `.breakPool` once `maxZygoteReplacements` in a row
    /// did not help (then nothing is replaced); otherwise forgets the old zygote's owed answers and
    /// returns nil (the caller kills it, retires its workers and forks a new one).
    mutating func beginZygoteReplacement() -> Action? {
        zygoteReplacements += 1
        guard zygoteReplacements <= configuration.maxZygoteReplacements else {
            return .breakPool(
                reason: "its zygote process or its new workers kept getting stuck "
                    + "(\(configuration.maxZygoteReplacements) zygotes replaced in a row)")
        }
        for slot in 0..<configuration.processes {
            spawnAskedAt[slot] = nil
            retryAt[slot] = nil
        }
        return nil
    }

    // MARK: Decisions

    /// With the queue's lock held: gives queued jobs to the least loaded workers with spare capacity,
    /// in queue order, until the queue is empty or no worker can take more.
    mutating func assign(from queue: inout Deque<Job>) -> [Assignment] {
        let depth = depthLimit
        var assignments: [Assignment] = []
        while queue.first != nil {
            var best: Int?
            for case let worker? in workers where canTake(worker, depth: depth) {
                if best == nil || worker.inflight.count < workers[best!]!.inflight.count { best = worker.slot }
            }
            guard let slot = best, let job = queue.popFirst() else { break }
            assignments.append(send(job, to: slot))
        }
        return assignments
    }

    /// Workers with nothing in flight that could take a job, in slot order (candidates for a take-back).
    var idleSlots: [Int] {
        let depth = depthLimit
        return workers.compactMap { worker in
            guard let worker, worker.inflight.isEmpty && canTake(worker, depth: depth) else { return nil }
            return worker.slot
        }
    }

    /// For an idle worker: the last job sent to the busiest worker with two or more in flight (the
    /// first such in slot order), nil when there is none.
    func takeBack(for idle: Int) -> TakeBack? {
        var victim: Worker?
        for case let busy? in workers where busy.inflight.count >= 2 {
            if victim == nil || busy.inflight.count > victim!.inflight.count { victim = busy }
        }
        guard let victim, let last = victim.inflight.last else { return nil }
        return TakeBack(victim: victim.slot, idle: idle, sent: last)
    }

    /// The take-back's claim swap succeeded (and the job has its new id): moves the job to the idle
    /// worker.
    mutating func commit(_ takeBack: TakeBack) -> Assignment {
        _ = workers[takeBack.victim]!.inflight.popLast()
        workers[takeBack.victim]!.freePositions |= 1 << UInt64(takeBack.sent.position)
        workers[takeBack.victim]!.sent -= 1
        return send(takeBack.sent.job, to: takeBack.idle)
    }

    private mutating func send(_ job: Job, to slot: Int) -> Assignment {
        let position = workers[slot]!.freePositions.trailingZeroBitCount
        workers[slot]!.freePositions &= ~(1 << UInt64(position))
        workers[slot]!.inflight.append(Sent(job: job, id: job.id, position: position))
        workers[slot]!.sent += 1
        return Assignment(job: job, slot: slot, position: position)
    }

    /// The pool is closed and its queue empty: each worker with nothing in flight is sent `stop`.
    mutating func drain() -> Drain {
        var stops: [Int] = []
        var anyWorker = false
        for slot in workers.indices {
            guard let worker = workers[slot] else { continue }
            anyWorker = true
            if worker.inflight.isEmpty && !worker.stopping {
                workers[slot]!.stopping = true
                stops.append(slot)
            }
        }
        if !anyWorker && !isSpawning { return .finished }
        return stops.isEmpty ? .busy : .stop(slots: stops)
    }

    /// Whether every worker has been sent `stop` with nothing left to answer, and none is coming:
    /// a closed pool can end without waiting for their death reports (the zygote reaps them).
    var everyWorkerStopped: Bool {
        !isSpawning && workers.allSatisfy { $0 == nil || ($0!.stopping && $0!.inflight.isEmpty) }
    }

    // MARK: Timers

    /// Spawns that failed are asked again once their pause is over, as long as there is work
    /// (`wanted`); otherwise they are dropped.
    mutating func retrySpawns(at now: Instant, wanted: Bool) -> [Action] {
        var actions: [Action] = []
        for slot in 0..<configuration.processes {
            guard let instant = retryAt[slot] else { continue }
            if !wanted {
                retryAt[slot] = nil
            } else if instant <= now {
                actions.append(requestSpawn(slot: slot, at: now))
            }
        }
        return actions
    }

    /// Workers that reported they started stop being watched; a worker that has not after
    /// `answerTimeout` is killed (its jobs had not started: they go to the others). The second in a
    /// row means the zygote's copy of the program is stuck (a lock inherited held): it is replaced.
    mutating func checkStartingWorkers(at now: Instant, status: (Worker) -> StartupStatus) -> [Action] {
        var actions: [Action] = []
        for slot in workers.indices {
            guard let worker = workers[slot], let since = worker.startingSince else { continue }
            if status(worker) == .started {
                workers[slot]!.startingSince = nil
                stuckStarts = 0
                zygoteReplacements = 0  // this zygote works
            } else if now - since >= configuration.answerTimeout {
                workers[slot]!.startingSince = nil
                stuckStarts += 1
                if let pid = streamEnded(slot: slot, at: now) { actions.append(.kill(pid: pid)) }
            }
        }
        if stuckStarts >= 2 {
            stuckStarts = 0
            actions.append(.replaceZygote)
        }
        return actions
    }
}
