// A robust process-shared mutex in shared memory: the lock behind the runtime's own shared state
// (Barrier, Queue). A process killed while holding it cannot freeze the others: the kernel marks it
// "owner died", the next locker gets it, makes it consistent, and is told so.

import Glibc

/// A view of a robust, process-shared, error-checking pthread mutex placed in a `SharedMemory`
/// region. The view keeps its region alive.
///
/// Ownership is per thread: only the thread that locked it may unlock it. When the owner dies (its
/// process is killed, or its thread ends) while holding it, the next `lock` succeeds with
/// `.recoveredFromDeadOwner`: the data the mutex protects may be half-updated and must be repaired
/// or reported by the caller. Do not fork while holding it.
///
/// Cost: an uncontended lock/unlock is two atomic instructions in glibc (no system call); a contended
/// one sleeps on a futex.
package struct SharedMutex: @unchecked Sendable {
    private let memory: SharedMemory
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    /// Reserves room for a mutex in a region's layout.
    package static func reserve(in layout: inout SharedLayout) -> SharedField<pthread_mutex_t> {
        layout.startCacheLine()
        return layout.reserve(pthread_mutex_t.self)
    }

    /// Initializes the mutex in `field`: once, by the creator, before other processes use it.
    /// - Throws: `SystemError` from pthread_mutex_init (it does not fail on Linux in practice).
    package init(initializing field: SharedField<pthread_mutex_t>, in memory: SharedMemory) throws(SystemError) {
        self.memory = memory
        self.mutex = memory.pointer(to: field)
        try Sys.initializeSharedMutex(mutex)
    }

    /// Locks, waiting as long as it takes.
    /// - Throws: `SystemError` on misuse (EDEADLK: this thread holds it already).
    @discardableResult
    package func lock() throws(SystemError) -> MutexAcquisition {
        // With no deadline the result is never nil.
        try Sys.lockSharedMutex(mutex, deadline: nil) ?? .acquired
    }

    /// Locks, waiting until `deadline` at most (never: no limit); nil when the deadline passed first.
    /// Signals do not cut the wait short or restart it.
    package func lock(until deadline: Deadline) throws(SystemError) -> MutexAcquisition? {
        try Sys.lockSharedMutex(mutex, deadline: deadline.instant)
    }

    /// Locks if no one holds the mutex; nil otherwise. Never waits.
    package func tryLock() throws(SystemError) -> MutexAcquisition? {
        try Sys.tryLockSharedMutex(mutex)
    }

    /// Unlocks. - Throws: `SystemError` with EPERM when the calling thread does not hold it.
    package func unlock() throws(SystemError) {
        try Sys.unlockSharedMutex(mutex)
    }

    /// Runs `body` with the mutex held; `body` learns whether the previous owner died holding it.
    package func withLock<R, E: Error>(_ body: (MutexAcquisition) throws(E) -> R) throws(E) -> R {
        let acquisition: MutexAcquisition
        do {
            acquisition = try lock()
        } catch {
            preconditionFailure("SharedMutex.lock failed: \(error)")
        }
        defer {
            do { try unlock() } catch { preconditionFailure("SharedMutex.unlock failed: \(error)") }
        }
        return try body(acquisition)
    }
}
