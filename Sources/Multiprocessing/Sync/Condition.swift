// Condition: Python's multiprocessing.Condition, a condition variable for processes.

/// A condition variable that processes share, tied to a ``Lock`` or an ``RLock``: a process holding
/// the lock calls ``wait(timeout:)``, which releases the lock, sleeps until another process calls
/// ``notify(_:)``, and takes the lock again before returning. Create it before forking.
///
/// Waiting or notifying without holding the lock is an error. A waiter that times out consumes no
/// notification, and a waiter killed while waiting consumes none either (unlike glibc's
/// process-shared condition variable). Like every condition variable, `wait` may occasionally return
/// without a notification meant for it (when a notify races with its going to sleep, or a signal
/// arrives): check the state you wait for in a loop, or use ``wait(for:timeout:)``.
///
/// Cost: a sequence number and a futex in shared memory (one 4 KiB page, plus the lock's);
/// `notify` with nobody waiting makes no system call.
public final class Condition: @unchecked Sendable {
    private enum Underlying {
        case lock(Lock)
        case rlock(RLock)
    }

    private let underlying: Underlying
    private let condition: SharedCondition

    /// A condition on `lock`. Python's `Condition(lock)`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(lock: Lock) throws(SyncError) {
        underlying = .lock(lock)
        condition = try Self.makeCondition()
    }

    /// A condition on `lock`; ``wait(timeout:)`` releases every level the owner holds and restores them.
    /// Python's `Condition(lock)`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(lock: RLock) throws(SyncError) {
        underlying = .rlock(lock)
        condition = try Self.makeCondition()
    }

    /// A condition on a fresh ``RLock``, as in Python.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public convenience init() throws(SyncError) {
        try self.init(lock: RLock())
    }

    private static func makeCondition() throws(SyncError) -> SharedCondition {
        var layout = SharedLayout()
        let fields = SharedCondition.reserve(in: &layout)
        return try SyncError.wrapping { () throws(SystemError) in
            SharedCondition(initializing: fields, in: try SharedMemory(layout))
        }
    }

    /// Acquires the condition's lock (see ``Lock/acquire()`` and ``RLock/acquire()``). Python's `Condition.acquire()`.
    public func acquire() {
        switch underlying {
        case .lock(let lock): lock.acquire()
        case .rlock(let lock): lock.acquire()
        }
    }

    /// Acquires the condition's lock, waiting at most `timeout`. False on timeout.
    /// Python's `Condition.acquire(True, timeout)`.
    public func acquire(timeout: Duration) -> Bool {
        switch underlying {
        case .lock(let lock): return lock.acquire(timeout: timeout)
        case .rlock(let lock): return lock.acquire(timeout: timeout)
        }
    }

    /// Releases the condition's lock. Python's `Condition.release()`. - Throws: what the lock's `release()` throws.
    public func release() throws(SyncError) {
        switch underlying {
        case .lock(let lock): try lock.release()
        case .rlock(let lock): try lock.release()
        }
    }

    /// Runs `body` holding the condition's lock. Python's `with condition:`.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        switch underlying {
        case .lock(let lock): return try lock.withLock(body)
        case .rlock(let lock): return try lock.withLock(body)
        }
    }

    /// How many processes (or threads) are waiting, for tests: a waiter killed mid-wait stays counted.
    package var waiterCount: Int { condition.waiterCount }

    private var isHeldByCurrentThread: Bool {
        switch underlying {
        case .lock(let lock): return lock.isHeldByCurrentThread
        case .rlock(let lock): return lock.isOwnedByCurrentThread
        }
    }

    /// With the lock held: releases it, sleeps until notified or until `timeout` (nil: no limit)
    /// has passed, then takes the lock again (waiting for it as long as it takes). Returns false when
    /// the timeout passed without a notification. Signals neither shorten nor restart the wait.
    /// Python's `Condition.wait(timeout)`.
    /// - Throws: ``SyncError/conditionLockNotHeld(operation:)`` when the calling thread does not hold
    ///   the lock.
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(SyncError) -> Bool {
        try wait(until: Deadline(timeout: timeout))
    }

    private func wait(until deadline: Deadline) throws(SyncError) -> Bool {
        guard isHeldByCurrentThread else { throw .conditionLockNotHeld(operation: .wait) }
        guard Trace.isOn else { return waitHolding(until: deadline) }
        let id = UInt64(UInt(bitPattern: ObjectIdentifier(self)))
        Trace.record(.condition, .waiting, id)
        let notified = waitHolding(until: deadline)
        Trace.record(.condition, notified ? .woken : .timedOut, id)
        return notified
    }

    private func waitHolding(until deadline: Deadline) -> Bool {
        let ticket = condition.prepareToWait()
        switch underlying {
        case .lock(let lock):
            lock.releaseForWait()
            let notified = condition.sleep(ticket: ticket, until: deadline)
            lock.reacquireAfterWait()
            return notified
        case .rlock(let lock):
            let depth = lock.releaseForWait()
            let notified = condition.sleep(ticket: ticket, until: deadline)
            lock.reacquireAfterWait(depth: depth)
            return notified
        }
    }

    /// With the lock held: waits until `predicate` (evaluated with the lock held) is true, or until
    /// `timeout` has passed. Returns the predicate's last value. Python's `Condition.wait_for(predicate, timeout)`.
    /// - Throws: ``SyncError/conditionLockNotHeld(operation:)`` when the calling thread does not hold
    ///   the lock.
    @discardableResult
    public func wait(for predicate: () -> Bool, timeout: Duration? = nil) throws(SyncError) -> Bool {
        guard isHeldByCurrentThread else { throw .conditionLockNotHeld(operation: .wait) }
        let deadline = Deadline(timeout: timeout)
        var satisfied = predicate()
        while !satisfied {
            if deadline.hasPassed { break }
            _ = try wait(until: deadline)
            satisfied = predicate()
        }
        return satisfied
    }

    /// With the lock held: wakes up to `count` waiting processes (or threads). Python's `Condition.notify(n=1)`.
    /// - Throws: ``SyncError/conditionLockNotHeld(operation:)`` when the calling thread does not hold
    ///   the lock.
    public func notify(_ count: Int = 1) throws(SyncError) {
        guard isHeldByCurrentThread else { throw .conditionLockNotHeld(operation: .notify) }
        Trace.record(.condition, .notified, UInt64(UInt(bitPattern: ObjectIdentifier(self))), Int32(clamping: count))
        condition.notify(count)
    }

    /// With the lock held: wakes every waiter. Python's `Condition.notify_all()`.
    /// - Throws: ``SyncError/conditionLockNotHeld(operation:)`` when the calling thread does not hold
    ///   the lock.
    public func notifyAll() throws(SyncError) {
        guard isHeldByCurrentThread else { throw .conditionLockNotHeld(operation: .notify) }
        Trace.record(.condition, .notified, UInt64(UInt(bitPattern: ObjectIdentifier(self))), -1)
        condition.notifyAll()
    }
}
