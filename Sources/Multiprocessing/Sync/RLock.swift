// RLock: Python's multiprocessing.RLock, a re-entrant lock with an owner, in shared memory.

import Glibc

/// A re-entrant lock that processes share: the thread that holds it may acquire it again, and must
/// release it as many times. Its owner is one thread of one process (pid and thread).
///
/// Releasing it from a thread that does not own it, or more times than it was acquired, is an error.
/// Like ``Lock``, an owner that dies holding it does not freeze the others: a waiter takes it over within
/// about 20 ms and ``recovery`` says so (the recursion count starts again at 1).
///
/// Cost: as `Lock`; a nested acquire or release is a plain load and store in shared memory.
public final class RLock: @unchecked Sendable {
    private let core: LockCore

    /// Creates an unowned RLock in fresh shared memory. Python's `RLock()`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public convenience init() throws(SyncError) {
        Tracing.startIfAsked()
        var layout = SharedLayout()
        let fields = LockCore.reserve(in: &layout)
        let memory: SharedMemory
        memory = try SyncError.wrapping { () throws(SystemError) in try SharedMemory(layout) }
        self.init(core: LockCore(initializing: fields, in: memory, tracedAs: .rlock))
    }

    /// An RLock whose words live in a region that holds other things too (a `SharedValue`).
    init(core: LockCore) {
        self.core = core
    }

    /// Acquires the lock (again, if this thread owns it), waiting as long as it takes. Python's `RLock.acquire()`.
    public func acquire() {
        _ = acquire(until: .never)
    }

    /// Acquires the lock, waiting at most `timeout` (zero or negative: not at all). False on timeout.
    /// Python's `RLock.acquire(block=True, timeout)`.
    public func acquire(timeout: Duration) -> Bool {
        acquire(until: Deadline(timeout: timeout))
    }

    /// Acquires the lock if it is free or already this thread's; never waits. Python's `RLock.acquire(block=False)`.
    public func tryAcquire() -> Bool {
        acquire(until: .now)
    }

    private func acquire(until deadline: Deadline) -> Bool {
        if core.ownerThread == LockCore.me {
            core.depth.pointee.add(1, ordering: .relaxed)
            return true
        }
        guard core.acquire(until: deadline) else { return false }
        core.depth.pointee.store(1, ordering: .relaxed)
        return true
    }

    /// Releases one level; the last release frees the lock and wakes one waiter. Python's `RLock.release()`.
    /// - Throws: ``SyncError/releasedUnacquiredRLock`` when nobody holds it;
    ///   `.releasedRLockOfAnotherOwner` when another thread or process does.
    public func release() throws(SyncError) {
        let owner = core.ownerThread
        guard owner == LockCore.me else {
            if owner == 0 { throw .releasedUnacquiredRLock }
            throw .releasedRLockOfAnotherOwner(ownerPid: core.holderPid, ownerThread: pid_t(bitPattern: owner))
        }
        let depth = core.depth.pointee.load(ordering: .relaxed) - 1
        core.depth.pointee.store(depth, ordering: .relaxed)
        if depth == 0 { _ = core.release() }
    }

    /// Runs `body` with the lock held, and releases it afterwards, also when `body` throws.
    /// Unbalanced releases inside `body` are a programming error that stops the process. Python's `with rlock:`.
    public func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer {
            do { try release() } catch { preconditionFailure("RLock.withLock: \(error)") }
        }
        return try body()
    }

    /// Whether the calling thread owns the lock.
    public var isOwnedByCurrentThread: Bool { core.ownerThread == LockCore.me }

    /// How many times the owner has acquired it (0 when free). A snapshot.
    public var recursionDepth: Int { core.ownerThread == 0 ? 0 : Int(core.depth.pointee.load(ordering: .relaxed)) }

    /// Set while the lock is owned by a thread that took it over from a process that died holding it.
    public var recovery: LockRecovery? { core.recovery }

    /// For `Condition`: release every level, and restore them.
    func releaseForWait() -> UInt32 {
        let depth = core.depth.pointee.load(ordering: .relaxed)
        _ = core.release()
        return depth
    }

    func reacquireAfterWait(depth: UInt32) {
        _ = core.acquire(until: .never)
        core.depth.pointee.store(depth, ordering: .relaxed)
    }
}
