// Errors of the synchronization primitives: every misuse SEMANTICS.md names, and setup failures.

import Glibc

/// A misuse of a lock, semaphore, condition, barrier or shared value, or a failure to create one.
public enum SyncError: Error, Equatable, CustomStringConvertible, Sendable {
    /// ``Lock/release()`` on a lock that is not locked.
    case releasedUnlockedLock
    /// ``RLock/release()`` when nobody holds it: it was released more times than acquired.
    case releasedUnacquiredRLock
    /// ``RLock/release()`` by a thread that is not the owner, which is thread `ownerThread` of process `ownerPid`.
    case releasedRLockOfAnotherOwner(ownerPid: pid_t, ownerThread: pid_t)
    /// ``CountingSemaphore/release()`` on a ``BoundedSemaphore`` would raise the value above its
    /// initial value.
    case releasedBoundedSemaphoreTooOften(initialValue: Int)
    /// ``CountingSemaphore/release()`` would raise the value above the largest it can hold (`Int32.max`).
    case semaphoreOverflow
    /// ``CountingSemaphore/init(value:)`` with a value below 0 or above `Int32.max`.
    case invalidSemaphoreValue(Int)
    /// ``Condition/wait(timeout:)`` or ``Condition/notify(_:)`` by a thread that does not hold the
    /// condition's lock.
    case conditionLockNotHeld(operation: String)
    /// ``Barrier/init(parties:action:timeout:)`` with fewer than one party.
    case invalidBarrierParties(Int)
    /// The barrier is broken (aborted, reset while waiting, timed out, its action failed, or a process
    /// died inside it): every waiter gets this error until ``Barrier/reset()``.
    case brokenBarrier
    /// The barrier's action threw in this process (which broke the barrier for the others).
    case barrierActionFailed(String)
    /// ``SharedArray`` with a negative count.
    case invalidCount(Int)
    /// ``SharedValue/withLock(_:)`` or ``SharedArray/withLock(_:)`` made with `lock: false`.
    case noLock
    /// Creating the shared memory (or a mutex in it) failed.
    case system(SystemError)

    public var description: String {
        switch self {
        case .releasedUnlockedLock:
            return "cannot release a Lock that is not locked"
        case .releasedUnacquiredRLock:
            return "cannot release an RLock that nobody holds (released more times than acquired)"
        case .releasedRLockOfAnotherOwner(let pid, let thread):
            let owner = pid == Sys.processID ? "thread \(thread) of this process" : "process \(pid)"
            return "cannot release an RLock held by \(owner): only its owner may release it"
        case .releasedBoundedSemaphoreTooOften(let initialValue):
            return "BoundedSemaphore released too many times: its value cannot exceed its initial value \(initialValue)"
        case .semaphoreOverflow:
            return "CountingSemaphore released too many times: its value cannot exceed \(Int32.max)"
        case .invalidSemaphoreValue(let value):
            return "invalid CountingSemaphore value \(value): it must be between 0 and \(Int32.max)"
        case .conditionLockNotHeld(let operation):
            return "cannot \(operation) on a Condition without holding its lock"
        case .invalidBarrierParties(let parties):
            return "invalid Barrier parties \(parties): at least 1 process must take part"
        case .brokenBarrier:
            return "the barrier is broken"
        case .barrierActionFailed(let error):
            return "the barrier's action failed (the barrier is now broken): \(error)"
        case .invalidCount(let count):
            return "invalid count \(count): it must not be negative"
        case .noLock:
            return "cannot use withLock: this shared value was made with lock: false"
        case .system(let error):
            return error.description
        }
    }
}

/// A lock that was taken over from a holder that died holding it.
public struct LockRecovery: Equatable, Sendable, CustomStringConvertible {
    /// The pid of the process that died while holding the lock.
    public let deadHolderPid: pid_t

    public var description: String {
        "taken over from process \(deadHolderPid), which died holding it"
    }
}
