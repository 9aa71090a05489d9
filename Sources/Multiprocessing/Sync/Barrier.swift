// Barrier: Python's multiprocessing.Barrier, a meeting point for a fixed number of processes.

import Synchronization

/// A meeting point for ``parties`` processes (or threads): each calls `wait()`, which blocks until all
/// of them have called it; then all continue together, and the barrier is ready for the next round.
/// Create it before forking.
///
/// `wait()` returns an index from 0 to `parties - 1`, different for each waiter of a round (the
/// arrival order), so exactly one waiter gets 0. The optional `action` runs once per round, in the
/// process of the last to arrive, before anyone is released. ``abort()``, ``reset()`` while processes
/// wait, a ``wait(timeout:)`` that times out, and an `action` that throws *break* the barrier: every waiter gets
/// ``SyncError/brokenBarrier``, and so does every later `wait` until `reset()`.
///
/// **Better than CPython:** the state lives behind a robust mutex, and the barrier knows which
/// threads are inside it. A process killed inside the barrier (while waiting, or while running the
/// action) breaks it for the others within about 100 ms instead of leaving them blocked for ever,
/// and `reset()` makes it usable again.
///
/// Cost: one 4 KiB page (for up to about 900 parties); a wait is a robust mutex lock and a futex sleep.
public final class Barrier: @unchecked Sendable {
    private enum State: Int32 {
        case filling = 0
        case draining = 1
        case resetting = -1
        case broken = -2
    }

    /// How often a waiter checks that the other waiters are still alive.
    static let livenessSlice = Duration.milliseconds(100)

    /// The number of waiters needed to pass the barrier.
    public let parties: Int
    /// The default timeout of `wait()`, nil for none.
    public let timeout: Duration?
    private let action: (@Sendable () throws -> Void)?
    private let memory: SharedMemory
    private let mutex: SharedMutex
    private let condition: SharedCondition
    // Guarded by `mutex`:
    private let state: UnsafeMutablePointer<Int32>
    /// The thread id of each waiter inside, 0 for a free slot: `parties` slots.
    private let inside: UnsafeMutablePointer<Int32>

    /// A barrier for `parties` processes (Python's `multiprocessing.Barrier(parties, action, timeout)`).
    /// - Parameters:
    ///   - parties: how many waiters each round needs, at least 1.
    ///   - action: runs once per round, in the last process to arrive (on whichever of its threads
    ///     called ``wait(timeout:)``), before the others are released; hence `@Sendable`. If it throws, the barrier
    ///     breaks, and that waiter gets ``SyncError/barrierActionFailed(_:)`` holding the error.
    ///   - timeout: the default for `wait()`; nil waits as long as it takes.
    /// - Throws: ``SyncError/invalidBarrierParties(_:)`` when `parties` < 1; `.system` when the shared memory
    ///   cannot be made.
    public init(parties: Int, action: (@Sendable () throws -> Void)? = nil, timeout: Duration? = nil) throws(SyncError)
    {
        Tracing.startIfAsked()
        guard parties >= 1 && parties <= 1 << 20 else { throw .invalidBarrierParties(parties) }
        self.parties = parties
        self.action = action
        self.timeout = timeout
        var layout = SharedLayout()
        let mutexField = SharedMutex.reserve(in: &layout)
        let conditionFields = SharedCondition.reserve(in: &layout)
        let stateField = layout.reserve(Int32.self)
        let insideField = layout.reserve(Int32.self, count: parties)
        (memory, mutex) = try SyncError.wrapping { () throws(SystemError) in
            let memory = try SharedMemory(layout)
            return (memory, try SharedMutex(initializing: mutexField, in: memory))
        }
        condition = SharedCondition(initializing: conditionFields, in: memory)
        state = memory.pointer(to: stateField)
        inside = memory.pointer(to: insideField)
        state.initialize(to: State.filling.rawValue)
        inside.initialize(repeating: 0, count: parties)
    }

    private var currentState: State {
        get { State(rawValue: state.pointee) ?? .broken }
        set { state.pointee = newValue.rawValue }
    }

    /// How many waiters are inside: the occupied slots (counted, not kept in a separate counter, so
    /// that a process killed at any point cannot leave the two disagreeing).
    private var count: Int {
        (0..<parties).reduce(0) { $0 + (inside[$1] != 0 ? 1 : 0) }
    }

    /// Waits until ``parties`` waiters have arrived, at most `timeout` (default: the barrier's).
    /// Returns this waiter's index in the round, from 0 to `parties - 1`. Python's `Barrier.wait(timeout)`.
    /// - Throws: ``SyncError/brokenBarrier`` when the barrier is or becomes broken (this wait timing out
    ///   breaks it); `.barrierActionFailed` (holding the thrown error) in the waiter whose `action` threw.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(SyncError) -> Int {
        guard Trace.isOn else { return try waitUntraced(timeout: timeout) }
        let id = UInt64(UInt(bitPattern: ObjectIdentifier(self)))
        Trace.record(.barrier, .waiting, id)
        do {
            let index = try waitUntraced(timeout: timeout)
            Trace.record(.barrier, .woken, id, Int32(index))
            return index
        } catch {
            Trace.record(.barrier, .timedOut, id)
            throw error
        }
    }

    private func waitUntraced(timeout: Duration?) throws(SyncError) -> Int {
        let deadline = Deadline(timeout: timeout ?? self.timeout)
        try lock()
        defer { unlock() }
        // Wait while the previous round drains or a reset completes.
        while currentState == .draining || currentState == .resetting {
            try sleep(until: deadline)
        }
        if currentState == .broken { throw .brokenBarrier }
        let index = count
        guard let slot = (0..<parties).first(where: { inside[$0] == 0 }) else { throw .brokenBarrier }
        inside[slot] = Sys.threadID
        defer {
            inside[slot] = 0
            leave()
        }
        if index + 1 == parties {
            // The last to arrive releases everyone.
            if let action {
                do {
                    try action()
                } catch {
                    breakBarrier()
                    throw .barrierActionFailed(BarrierActionFailure(error))
                }
            }
            currentState = .draining
            condition.notifyAll()
        } else {
            while currentState == .filling {
                try sleep(until: deadline)
            }
            if currentState != .draining { throw .brokenBarrier }
        }
        return index
    }

    /// Breaks the barrier: every waiter, and every later ``wait(timeout:)`` until ``reset()``, gets
    /// ``SyncError/brokenBarrier``. Use it when a process cannot take part after all. Python's `Barrier.abort()`.
    public func abort() {
        guard (try? lock()) != nil else { return }
        breakBarrier()
        unlock()
    }

    /// Returns the barrier to its initial state. Processes waiting right now get
    /// ``SyncError/brokenBarrier``. Python's `Barrier.reset()`.
    public func reset() {
        guard (try? lock()) != nil else { return }
        reapDeadWaiters()
        if count > 0 {
            currentState = .resetting  // the last waiter to leave makes it `.filling`
        } else {
            currentState = .filling
        }
        condition.notifyAll()
        unlock()
    }

    /// How many waiters are waiting in the current round. Python's `Barrier.n_waiting`.
    public var waitingCount: Int {
        guard (try? lock()) != nil else { return 0 }
        defer { unlock() }
        return currentState == .filling ? count : 0
    }

    /// Whether the barrier is broken. Python's `Barrier.broken`.
    public var isBroken: Bool {
        guard (try? lock()) != nil else { return false }
        defer { unlock() }
        return currentState == .broken
    }

    // MARK: Inside the mutex

    /// Locks the state. A previous holder that died left it half-changed: the barrier breaks.
    private func lock() throws(SyncError) {
        let acquisition: MutexAcquisition
        acquisition = try SyncError.wrapping { () throws(SystemError) in try mutex.lock() }
        if acquisition == .recoveredFromDeadOwner {
            reapDeadWaiters()
            breakBarrier()
        }
    }

    private func unlock() {
        try? mutex.unlock()
    }

    private func breakBarrier() {
        currentState = .broken
        condition.notifyAll()
    }

    /// The last waiter out of a drained round (or a reset) opens the barrier for the next round.
    private func leave() {
        if count == 0 && (currentState == .draining || currentState == .resetting) {
            currentState = .filling
            condition.notifyAll()
        }
    }

    /// Sleeps on the condition for one slice (or until `deadline`); then breaks the barrier if a waiter
    /// inside has died, or if `deadline` has passed (and throws).
    private func sleep(until deadline: Deadline) throws(SyncError) {
        let now = Deadline.now
        if now >= deadline {
            breakBarrier()
            throw .brokenBarrier
        }
        let sliceEnd = now.adding(Self.livenessSlice).earlier(deadline)
        let relock: MutexAcquisition
        (_, relock) = try SyncError.wrapping { () throws(SystemError) in
            try condition.wait(releasing: mutex, until: sliceEnd)
        }
        if relock == .recoveredFromDeadOwner || reapDeadWaiters() {
            breakBarrier()
        }
    }

    /// Frees the slots of waiters whose thread has died. True if there were any.
    @discardableResult
    private func reapDeadWaiters() -> Bool {
        var found = false
        for slot in 0..<parties where inside[slot] != 0 && inside[slot] != Sys.threadID {
            if Sys.threadIsGone(inside[slot]) {
                inside[slot] = 0
                found = true
            }
        }
        if found { leave() }
        return found
    }
}
