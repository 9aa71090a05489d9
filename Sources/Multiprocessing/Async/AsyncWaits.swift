// AsyncWaits: the one mechanism behind the async forms (`try await child.join()`, `queue.get()`,
// `connection.receive()`, `result.value`, ...): the awaiting task is suspended, never blocked.
//
// An async form is a series of *attempts* that never wait (a `tryGet`, a reap with WNOHANG, taking a
// frame that has arrived whole). The first runs on the task's thread. When it cannot finish, the task
// becomes a *waiter* of the *source* of that object and operation (one for a queue's gets, one for a
// child's joins, ...) and suspends; later attempts run on this file's threads, for a source's waiters
// oldest first, until one cannot finish, whenever the source may be ready:
// - a descriptor turned readable (a pidfd; a connection's descriptor, or the eventfd its `close()`
//   signals): one *reactor* thread watches them all with epoll, and keeps every waiter's deadline;
// - a futex moved (a queue's ring has no descriptor): a *waiting thread* sleeps on the ring's
//   condition a slice at a time. At most `maxWaitingThreads`: more queues take turns, in short slices;
// - this process signalled (a pool's result arrived): the signalling thread attempts.
// So a thousand tasks awaiting one queue cost one waiting thread, and a thousand awaiting the joins
// of a thousand children cost the reactor thread and a descriptor per child.
//
// Cancellation takes a waiter out and resumes it with `.cancelled` at once: no attempt ran for it
// since it suspended, so nothing was taken or put for it. If an attempt for it is running at that
// moment (microseconds), the attempt's outcome wins: what it took or put is reported, never lost.
//
// The threads are plain pthreads, started on first use and kept for the life of the process: a
// forked child, where they do not exist, must not await (see `ChildProcess`).
//
// Async/ holds this engine (this file) and the vocabulary the async forms speak to it
// (AsyncAttempt.swift); the async forms themselves live with their objects (ProcessAsync.swift,
// QueueAsync.swift, ConnectionAsync.swift, PoolAsync.swift). May depend on Platform/ only, except
// WaitForAny.swift: the blocking wait on many objects, whose WaitError names their error types.

import CMultiprocessingShims
import Glibc

private struct AsyncWaitKey: Hashable {
    let object: ObjectIdentifier, kind: AsyncWaitKind
}

/// One suspended await. Mutable state under the engine's lock.
private final class AsyncWaiter: @unchecked Sendable {
    let id: UInt64
    let deadline: Deadline
    let attempt: @Sendable () -> AsyncAttempt
    var continuation: CheckedContinuation<AsyncWaitEnding, Never>?
    var source: AsyncWaitSource?
    /// `attempting`: an attempt for it is running, and decides its fate (`cancelled` and `expired`
    /// only count when the attempt did not finish).
    var ended = false, attempting = false, cancelled = false, expired = false

    init(id: UInt64, deadline: Deadline, attempt: @escaping @Sendable () -> AsyncAttempt) {
        (self.id, self.deadline, self.attempt) = (id, deadline, attempt)
    }
}

/// The waiters of one object and operation, and what they wait on. Mutable state under the lock.
private final class AsyncWaitSource: @unchecked Sendable {
    let id: UInt64
    let key: AsyncWaitKey
    /// Keeps the object, and so its identifier, alive while it is waited on.
    let object: AnyObject
    let readiness: AsyncReadiness
    var waiters: [AsyncWaiter] = []
    /// One thread at a time attempts for a source; a request meanwhile makes it go round again.
    var pumping = false, pumpAgain = false
    /// `scheduled`: a futex source in the run queue or in a waiting thread's hands.
    var scheduled = false, retired = false
    var token: UInt64 = 0
    var retryAt: Deadline?
    var pause = AsyncWaits.firstPause

    init(id: UInt64, key: AsyncWaitKey, object: AnyObject, readiness: AsyncReadiness) {
        (self.id, self.key, self.object, self.readiness) = (id, key, object, readiness)
    }
}

/// The process's async waits: sources, waiters, deadlines, the reactor and the waiting threads.
final class AsyncWaits: @unchecked Sendable {
    static let shared = AsyncWaits()

    /// At most this many threads sleep on futex sources: one per awaited queue up to 8 (programs
    /// await a few queues), however many tasks await them; more queues share the 8 in turns.
    static let maxWaitingThreads = 8
    /// How long a waiting thread sleeps before attempting again: long while every futex source has
    /// a thread, short while others wait for their turn.
    static let longSlice = Duration.milliseconds(100)
    static let shortSlice = Duration.milliseconds(10)
    /// Pauses of `.busy` and `.polling` sources: 1 ms, doubling to 20 ms.
    static let firstPause = Duration.milliseconds(1)
    static let maxPause = Duration.milliseconds(20)
    private static let threadStack = 2 << 20

    private typealias Resumption = (CheckedContinuation<AsyncWaitEnding, Never>, AsyncWaitEnding)

    private let monitor = LocalMonitor()
    private let pid = mp_cached_pid()
    private var lastID: UInt64 = 0  // 0 itself is the reactor's wake-up token
    private var sources: [AsyncWaitKey: AsyncWaitSource] = [:]
    private var sourcesByID: [UInt64: AsyncWaitSource] = [:]
    private var timedWaiters: [UInt64: AsyncWaiter] = [:]
    /// Waiters' deadlines and sources' retries, sorted by (at, id).
    private var timers: [(at: Deadline, id: UInt64)] = []
    private var epoll: Int32 = -1, wake: Int32 = -1
    /// When the reactor will look at the timers by itself; `awake` while it is awake.
    private var reactorWakesAt = AsyncWaits.awake
    private static let awake = Deadline(nanoseconds: .min)
    private var runQueue: [AsyncWaitSource] = []
    private var waitingThreads = 0, idleWaitingThreads = 0
    /// Kept, never joined: the threads live as long as the process.
    private var threads: [PlainThread] = []

    /// For tests: suspended awaits, sources, and the threads started so far (the reactor's included).
    package var counts: (waiters: Int, sources: Int, threads: Int) {
        monitor.withLock { (sources.values.reduce(0) { $0 + $1.waiters.count }, sources.count, threads.count) }
    }

    // MARK: Awaiting

    /// Runs `attempt` until it finishes: now, then whenever the source of (`object`, `kind`) may be
    /// ready, until `deadline` passes or the task is cancelled. `readiness` is asked only when the
    /// source does not exist yet. Never blocks the calling thread beyond the first attempt.
    func wait(
        on object: AnyObject, _ kind: AsyncWaitKind, until deadline: Deadline,
        readiness: () -> AsyncReadiness,
        attempt: @escaping @Sendable () -> AsyncAttempt
    ) async -> AsyncWaitEnding {
        precondition(mp_cached_pid() == pid, "a forked child must not await: the async forms are for the parent")
        if Task.isCancelled { return .cancelled }
        let first = attempt()
        if case .finished = first { return .finished }
        if deadline.hasPassed { return .timedOut }
        var token: UInt64 = 0
        if case .notYet(let seen) = first { token = seen }
        let waiter = monitor.withLock { () -> AsyncWaiter in
            lastID += 1
            return AsyncWaiter(id: lastID, deadline: deadline, attempt: attempt)
        }
        let key = AsyncWaitKey(object: ObjectIdentifier(object), kind: kind)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<AsyncWaitEnding, Never>) in
                register(waiter, continuation, key: key, object: object, token: token, readiness: readiness)
            }
        } onCancel: {
            end(waiter, .cancelled)
        }
    }

    /// Something in this process may have made (`object`, `kind`) ready: attempt for its waiters
    /// now, on this thread. Cheap when nobody waits (a lock and a lookup).
    func signal(_ object: AnyObject, _ kind: AsyncWaitKind) {
        if let source = monitor.withLock({ sources[AsyncWaitKey(object: ObjectIdentifier(object), kind: kind)] }) {
            pump(source)
        }
    }

    private func register(
        _ waiter: AsyncWaiter, _ continuation: CheckedContinuation<AsyncWaitEnding, Never>,
        key: AsyncWaitKey, object: AnyObject, token: UInt64, readiness: () -> AsyncReadiness
    ) {
        var early: AsyncWaitEnding?
        var pumpNow: AsyncWaitSource?
        monitor.withLock {
            if waiter.cancelled {
                early = .cancelled
                return
            }
            let source: AsyncWaitSource
            do throws(SystemError) {
                if let existing = sources[key] {
                    source = existing
                } else {
                    source = try makeSource(key: key, object: object, readiness: readiness(), token: token)
                }
                if !waiter.deadline.isNever { try startReactor() }
                if case .futex = source.readiness, !source.scheduled { try schedule(source) }
            } catch {
                if let made = sources[key] { retireIfIdle(made) }
                early = .failed(error)
                return
            }
            waiter.continuation = continuation
            waiter.source = source
            source.waiters.append(waiter)
            if !waiter.deadline.isNever {
                timedWaiters[waiter.id] = waiter
                addTimer(at: waiter.deadline, id: waiter.id)
            }
            if case .signal = source.readiness { pumpNow = source }
        }
        if let early { continuation.resume(returning: early) }
        // A signal may have come between the first attempt and the registration: attempt once more.
        if let pumpNow { pump(pumpNow) }
    }

    /// With the lock held: a new source, watched as its readiness says.
    private func makeSource(
        key: AsyncWaitKey, object: AnyObject, readiness: AsyncReadiness,
        token: UInt64
    ) throws(SystemError) -> AsyncWaitSource {
        lastID += 1
        let source = AsyncWaitSource(id: lastID, key: key, object: object, readiness: readiness)
        source.token = token
        switch readiness {
        case .descriptors(let fds, let owned):
            do throws(SystemError) {
                try startReactor()
                for (index, fd) in fds.enumerated() {
                    if mp_epoll_watch(epoll, fd, source.id, 0) == 0 { continue }
                    let error = SystemError("epoll_ctl", errno: mp_errno())
                    for watched in fds[..<index] { _ = mp_epoll_forget(epoll, watched) }
                    throw error
                }
            } catch {
                if owned { fds.forEach(Sys.close) }
                throw error
            }
        case .polling:
            try startReactor()
            retryLater(source)
        case .futex, .signal:
            break
        }
        sources[key] = source
        sourcesByID[source.id] = source
        return source
    }

    // MARK: Ending a wait

    /// Cancellation or a deadline: resumes the waiter now, unless an attempt for it is running (the
    /// attempt decides) or it is not registered yet (registration decides).
    private func end(_ waiter: AsyncWaiter, _ ending: AsyncWaitEnding) {
        let resumption = monitor.withLock { () -> Resumption? in
            if waiter.ended { return nil }
            guard let source = waiter.source, !waiter.attempting else {
                if case .cancelled = ending { waiter.cancelled = true } else { waiter.expired = true }
                return nil
            }
            defer { retireIfIdle(source) }
            return finish(waiter, ending)
        }
        if let (continuation, ending) = resumption { continuation.resume(returning: ending) }
    }

    /// With the lock held: takes the waiter out; the caller resumes it (outside the lock).
    private func finish(_ waiter: AsyncWaiter, _ ending: AsyncWaitEnding) -> Resumption? {
        waiter.ended = true
        if let source = waiter.source, let index = source.waiters.firstIndex(where: { $0 === waiter }) {
            source.waiters.remove(at: index)
        }
        if !waiter.deadline.isNever {
            timedWaiters[waiter.id] = nil
            removeTimer(at: waiter.deadline, id: waiter.id)
        }
        defer { waiter.continuation = nil }
        return waiter.continuation.map { ($0, ending) }
    }

    /// With the lock held: forgets a source nobody waits on or works for any more.
    private func retireIfIdle(_ source: AsyncWaitSource) {
        guard source.waiters.isEmpty, !source.pumping, !source.scheduled, !source.retired else { return }
        source.retired = true
        if sources[source.key] === source { sources[source.key] = nil }
        sourcesByID[source.id] = nil
        if let at = source.retryAt { removeTimer(at: at, id: source.id) }
        if case .descriptors(let fds, let owned) = source.readiness {
            for fd in fds {
                _ = mp_epoll_forget(epoll, fd)
                if owned { Sys.close(fd) }
            }
        }
    }

    // MARK: Attempting

    /// Attempts for the source's waiters, oldest first, until one cannot finish; then waits for the
    /// source's readiness again. One thread at a time: a second caller makes the first go round again.
    private func pump(_ source: AsyncWaitSource) {
        var next = monitor.withLock { () -> AsyncWaiter? in
            source.pumpAgain = source.pumping
            return source.pumping ? nil : claimHead(of: source)
        }
        while let waiter = next {
            let result = waiter.attempt()
            var resumption: Resumption?
            next = monitor.withLock { () -> AsyncWaiter? in
                waiter.attempting = false
                if case .notYet(let token) = result { source.token = token }
                if case .finished = result {
                    resumption = finish(waiter, .finished)
                } else if waiter.cancelled || waiter.expired {
                    resumption = finish(waiter, waiter.cancelled ? .cancelled : .timedOut)
                } else if !source.pumpAgain {
                    source.pumping = false
                    if case .busy = result { retryLater(source) } else { rearm(source) }
                    return nil
                }
                guard let head = claimHead(of: source) else {
                    retireIfIdle(source)
                    return nil
                }
                return head
            }
            if let (continuation, ending) = resumption { continuation.resume(returning: ending) }
        }
    }

    /// With the lock held: the oldest waiter, marked as being attempted; nil (and not pumping) if none.
    private func claimHead(of source: AsyncWaitSource) -> AsyncWaiter? {
        let head = source.waiters.first
        (source.pumping, source.pumpAgain) = (head != nil, false)
        head?.attempting = true
        return head
    }

    /// With the lock held, after an attempt that could not finish: watch the source again.
    private func rearm(_ source: AsyncWaitSource) {
        switch source.readiness {
        case .descriptors(let fds, _):
            source.pause = Self.firstPause
            // Re-arming a valid descriptor does not fail; if it did, polling would still get there.
            if !fds.allSatisfy({ mp_epoll_watch(epoll, $0, source.id, 1) == 0 }) { retryLater(source) }
        case .polling:
            retryLater(source)
        case .futex, .signal:
            break  // the waiting thread goes on; a signal comes from outside
        }
    }

    /// With the lock held: pump the source again after its pause, which doubles each time.
    private func retryLater(_ source: AsyncWaitSource) {
        if let at = source.retryAt { removeTimer(at: at, id: source.id) }
        let at = Deadline.now.adding(source.pause)
        source.pause = min(source.pause * 2, Self.maxPause)
        source.retryAt = at
        addTimer(at: at, id: source.id)
    }

    // MARK: Timers

    private func timerIndex(at: Deadline, id: UInt64) -> Int {
        var (low, high) = (0, timers.count)
        while low < high {
            let middle = (low + high) / 2
            let timer = timers[middle]
            if timer.at < at || (timer.at == at && timer.id < id) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private func addTimer(at: Deadline, id: UInt64) {
        timers.insert((at, id), at: timerIndex(at: at, id: id))
        if at < reactorWakesAt {
            reactorWakesAt = Self.awake
            Sys.signalEvent(wake)
        }
    }

    private func removeTimer(at: Deadline, id: UInt64) {
        let index = timerIndex(at: at, id: id)
        if index < timers.count && timers[index].id == id { timers.remove(at: index) }
    }

    // MARK: The reactor thread

    /// With the lock held: starts the reactor on first use.
    private func startReactor() throws(SystemError) {
        if epoll >= 0 { return }
        // Set before the thread starts, which reads them without the lock.
        epoll = mp_epoll_create()
        do throws(SystemError) {
            if epoll < 0 { throw SystemError("epoll_create1", errno: mp_errno()) }
            wake = try Sys.eventDescriptor()
            if mp_epoll_watch(epoll, wake, 0, 0) != 0 { throw SystemError("epoll_ctl", errno: mp_errno()) }
            threads.append(try PlainThread(stackSize: Self.threadStack) { [self] in runReactor() })
        } catch {
            for fd in [epoll, wake] where fd >= 0 { Sys.close(fd) }
            (epoll, wake) = (-1, -1)
            throw error
        }
    }

    /// Waits for descriptors and the earliest timer; pumps the sources that became ready and ends
    /// the waits whose deadline passed.
    private func runReactor() {
        let capacity: Int32 = 64
        let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: Int(capacity))
        ForkGate.threadBegan()  // in the fork gate except while it waits (see ForkGate)
        while true {
            let timeout = monitor.withLock { () -> Int32 in
                let next = timers.first?.at ?? .never
                reactorWakesAt = next
                return next.pollMilliseconds
            }
            ForkGate.leave()
            let count = max(0, mp_epoll_wait(epoll, tokens, capacity, timeout))
            ForkGate.enter()
            var ready: [UInt64: AsyncWaitSource] = [:]
            var resumptions: [Resumption] = []
            monitor.withLock {
                reactorWakesAt = Self.awake
                for token in UnsafeBufferPointer(start: tokens, count: Int(count)) {
                    if token == 0 {
                        var counter: UInt64 = 0
                        _ = read(wake, &counter, 8)
                        _ = mp_epoll_watch(epoll, wake, 0, 1)
                    } else if let source = sourcesByID[token] {
                        ready[source.id] = source
                    }
                }
                let now = Deadline.now
                while let first = timers.first, first.at <= now {
                    timers.removeFirst()
                    if let waiter = timedWaiters[first.id] {
                        waiter.expired = true  // if an attempt is running, it decides
                        if !waiter.attempting, let source = waiter.source, let resumption = finish(waiter, .timedOut) {
                            resumptions.append(resumption)
                            retireIfIdle(source)
                        }
                    } else if let source = sourcesByID[first.id], source.retryAt == first.at {
                        source.retryAt = nil
                        ready[source.id] = source
                    }
                }
            }
            for (continuation, ending) in resumptions { continuation.resume(returning: ending) }
            for source in ready.values { pump(source) }
        }
    }

    // MARK: The waiting threads

    /// With the lock held: queues a futex source for a waiting thread, starting one if every thread
    /// is taken and there are fewer than the maximum. Throws only when there is no thread at all.
    private func schedule(_ source: AsyncWaitSource) throws(SystemError) {
        source.scheduled = true
        runQueue.append(source)
        if idleWaitingThreads > 0 { monitor.broadcast() }
        guard runQueue.count > idleWaitingThreads, waitingThreads < Self.maxWaitingThreads else { return }
        do throws(SystemError) {
            threads.append(try PlainThread(stackSize: Self.threadStack) { [self] in serveFutexSources() })
            waitingThreads += 1
        } catch {
            if waitingThreads > 0 { return }  // the others will get to it
            source.scheduled = false
            runQueue.removeAll { $0 === source }
            throw error
        }
    }

    /// A waiting thread: takes futex sources in turn; attempts for one, then sleeps on it for a slice.
    private func serveFutexSources() {
        ForkGate.threadBegan()  // in the fork gate except while it waits (see ForkGate)
        while true {
            ForkGate.leave()  // out while it sleeps; back in only once the lock is released
            let source = monitor.withLock { () -> AsyncWaitSource in
                while runQueue.isEmpty {
                    idleWaitingThreads += 1
                    _ = monitor.wait(until: nil)
                    idleWaitingThreads -= 1
                }
                return runQueue.removeFirst()
            }
            ForkGate.enter()
            pump(source)
            guard case .futex(let waitForChange) = source.readiness else { continue }
            let slice = monitor.withLock { () -> (token: UInt64, end: Deadline)? in
                source.scheduled = !source.waiters.isEmpty
                retireIfIdle(source)
                guard source.scheduled else { return nil }
                return (source.token, Deadline.now.adding(runQueue.isEmpty ? Self.longSlice : Self.shortSlice))
            }
            guard let slice else { continue }
            ForkGate.leave()
            waitForChange(slice.token, slice.end)
            ForkGate.enter()
            monitor.withLock { runQueue.append(source) }
        }
    }
}
