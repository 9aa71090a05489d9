// Errors of the synchronization primitives: misuse (each case names the call) and setup failures.

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
    /// ``Condition/wait(timeout:)``, ``Condition/wait(for:timeout:)`` or ``Condition/notify(_:)`` by a thread that does not hold the condition's lock.
    case conditionLockNotHeld(operation: ConditionOperation)
    /// ``Barrier/init(parties:action:timeout:)`` with fewer than one party.
    case invalidBarrierParties(Int)
    /// The barrier is broken (aborted, reset while waiting, timed out, its action failed, or a process
    /// died inside it): every waiter gets this error until ``Barrier/reset()``.
    case brokenBarrier
    /// The barrier's action threw in this process (which broke the barrier for the others); the
    /// failure holds the error it threw.
    case barrierActionFailed(BarrierActionFailure)
    /// ``SharedArray`` or ``RawSharedArray`` with a negative count.
    case invalidCount(Int)
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
        case .barrierActionFailed(let failure):
            return "the barrier's action failed (the barrier is now broken): \(failure)"
        case .invalidCount(let count):
            return "invalid count \(count): it must not be negative"
        case .system(let error):
            return error.description
        }
    }
}

/// The ``Condition`` call that a ``SyncError/conditionLockNotHeld(operation:)`` is about; its description is the call's name.
public enum ConditionOperation: String, Equatable, Sendable, CustomStringConvertible {
    /// `wait(timeout:)` or `wait(for:timeout:)`.
    case wait
    /// `notify(_:)` or `notifyAll()`.
    case notify

    public var description: String { rawValue }
}

/// The error a ``Barrier``'s action threw, as ``SyncError/barrierActionFailed(_:)`` carries it to the waiter
/// that ran the action: ``error`` is the value itself (`catch SyncError.barrierActionFailed(let f)`,
/// then `f.error as? MyError`). Two failures are equal when their type names and descriptions are.
public struct BarrierActionFailure: Equatable, Sendable, CustomStringConvertible {
    /// The error the action threw.
    public let error: any Error
    /// The name of its type, as `String(describing: type(of: error))` gives it.
    public let typeName: String
    /// Its description, as `String(describing: error)` gives it.
    public let description: String

    /// Wraps `error`, recording its type name and description.
    public init(_ error: any Error) {
        self.error = error
        typeName = String(describing: type(of: error))
        description = String(describing: error)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.typeName == rhs.typeName && lhs.description == rhs.description
    }
}

/// A lock that was taken over from a holder that ended (was killed, crashed or simply exited) while
/// holding it.
public struct LockRecovery: Equatable, Sendable, CustomStringConvertible {
    /// The pid of the process that ended while holding the lock.
    public let deadHolderPid: pid_t

    public var description: String {
        "taken over from process \(deadHolderPid), which ended while holding it"
    }
}

/// Its `system` case wraps a failed system call (`try SyncError.wrapping { … }`).
extension SyncError: WrapsSystemError {}
