// Lock: Python's multiprocessing.Lock, a binary semaphore in shared memory.
//
// Sync/ holds the public synchronization primitives, Python's multiprocessing.synchronize and
// sharedctypes: Lock and RLock (on LockCore), CountingSemaphore and BoundedSemaphore, Event,
// Condition, Barrier, SharedValue and SharedArray, and SyncError. Each object lives in its own
// shared mapping, made before fork. May depend on SharedState/ and Platform/ only.

import Glibc

/// A lock that processes share: create it before forking, then acquire and release it in any process
/// of the tree (and any thread).
///
/// Like Python's `multiprocessing.Lock` it is a binary semaphore: it has no owner, so any process may
/// release it, but releasing it when it is not locked is an error. It is not re-entrant: a thread that
/// acquires it twice waits until someone releases it (use ``RLock`` for re-entry).
///
/// **Better than CPython:** a holder that dies while holding the lock (killed, crashed) does not freeze
/// the others. A waiter notices within about 20 ms that the holder is gone, takes the lock over, and
/// ``recovery`` tells the new holder which process died, until it releases the lock. (So a process
/// that *exits* holding the lock, leaving it for another to release, also gets its lock taken over.)
///
/// Cost: uncontended ``acquire()``/``release()`` are one atomic instruction each, in shared memory, with no
/// system call; a waiter spins briefly, then sleeps on a futex, and a release makes a wake-up system
/// call only when someone sleeps. The lock takes one 4 KiB page.
public final class Lock: @unchecked Sendable {
    private let core: LockCore

    /// Creates an unlocked lock in fresh shared memory. Python's `Lock()`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init() throws(SyncError) {
        Tracing.startIfAsked()
        var layout = SharedLayout()
        let fields = LockCore.reserve(in: &layout)
        let memory: SharedMemory
        memory = try SyncError.wrapping { () throws(SystemError) in try SharedMemory(layout) }
        core = LockCore(initializing: fields, in: memory)
    }

    /// Acquires the lock, waiting as long as it takes (a dead holder's lock is taken over).
    /// Signals do not interrupt the wait. Python's `Lock.acquire()`.
    public func acquire() {
        _ = core.acquire(until: .never)
    }

    /// Acquires the lock, waiting at most `timeout` (zero or negative: not at all).
    /// Returns false when the timeout passed first. Signals neither shorten nor restart the wait.
    /// Python's `Lock.acquire(block=True, timeout)`.
    public func acquire(timeout: Duration) -> Bool {
        core.acquire(until: Deadline(timeout: timeout))
    }

    /// Acquires the lock if it is free (or its holder has died); never waits. Python's `Lock.acquire(block=False)`.
    public func tryAcquire() -> Bool {
        core.acquire(until: .now)
    }

    /// Releases the lock, whoever acquired it, and wakes one waiter. Python's `Lock.release()`.
    /// - Throws: ``SyncError/releasedUnlockedLock`` when it is not locked.
    public func release() throws(SyncError) {
        if core.release() == 0 { throw .releasedUnlockedLock }
    }

    /// Runs `body` with the lock held, and releases it afterwards, also when `body` throws.
    /// Releasing the lock inside `body` (in this or another process) is a programming error that
    /// stops the process, as an unhandled error would. Python's `with lock:`.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer {
            if core.release() == 0 {
                preconditionFailure(
                    "Lock.withLock: \(SyncError.releasedUnlockedLock) (it was released inside the block)")
            }
        }
        return try body()
    }

    /// Whether the lock is held right now (by anyone). A snapshot: it may change at once.
    public var isLocked: Bool { core.ownerThread != 0 }

    /// Set while the lock is held by a thread that took it over from a process that ended (died or
    /// exited) while holding it: which process that was. Cleared when the lock is released; nil otherwise.
    public var recovery: LockRecovery? { core.recovery }

    /// True when the calling thread acquired the lock and has not released it (for `Condition`).
    var isHeldByCurrentThread: Bool { core.ownerThread == LockCore.me }

    /// For `Condition`: release, and acquire again.
    func releaseForWait() { _ = core.release() }
    func reacquireAfterWait() { _ = core.acquire(until: .never) }
}
