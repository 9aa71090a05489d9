// Futexes and robust mutexes: process-shared waiting on words in shared memory, robust
// process-shared pthread mutexes that survive a dead owner, and the CPU's spin-wait hint.

import CMultiprocessingShims
import Glibc

/// How a futex wait ended.
package enum FutexWaitResult: Equatable, Sendable {
    /// A wake-up arrived (or, rarely, the kernel woke the thread for no reason).
    case woken
    /// The word no longer held the expected value: the thread did not sleep.
    case valueChanged
    /// The timeout passed.
    case timedOut
    /// A signal handler ran; the caller decides whether to wait again with the remaining time.
    case interrupted
}

/// How a robust mutex was acquired.
package enum MutexAcquisition: Equatable, Sendable {
    /// The usual case.
    case acquired
    /// The previous owner died holding the mutex: it is ours now and consistent again, but the data
    /// it protected may be half-updated. The caller must repair or report it.
    case recoveredFromDeadOwner
}

extension Sys {
    /// A hint to the CPU inside a spin-wait loop.
    @inline(__always)
    static func cpuRelax() {
        mp_cpu_relax()
    }

    /// Gives the CPU to another runnable thread, if there is one (`sched_yield`).
    static func yieldProcessor() {
        _ = sched_yield()
    }

    /// Sleeps while `word` holds `expected`, at most `timeout` (nil: no limit). One FUTEX_WAIT on a
    /// shared word; the caller loops, re-checking its condition. Not retried on EINTR on purpose:
    /// `.interrupted` lets the caller recompute the time left.
    static func futexWait(_ word: UnsafeMutablePointer<UInt32>, expecting expected: UInt32, timeout: Duration?)
        -> FutexWaitResult
    {
        let result: Int32
        if let timeout {
            var relative = timespec(positive: timeout)
            result = mp_futex_wait(word, expected, &relative)
        } else {
            result = mp_futex_wait(word, expected, nil)
        }
        if result == 0 { return .woken }
        switch mp_errno() {
        case EAGAIN: return .valueChanged
        case ETIMEDOUT: return .timedOut
        case EINTR: return .interrupted
        default: return .woken  // EFAULT/EINVAL cannot happen with a mapped, aligned word; re-check.
        }
    }

    /// Wakes up to `count` threads sleeping on `word`, in any process. Returns how many woke.
    @discardableResult
    static func futexWake(_ word: UnsafeMutablePointer<UInt32>, count: Int32) -> Int32 {
        max(0, mp_futex_wake(word, count))
    }

    /// Initializes a process-shared, robust, error-checking mutex in place (in shared memory).
    static func initializeSharedMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) throws(SystemError) {
        let error = mp_mutex_init_shared_robust(mutex)
        if error != 0 { throw SystemError("pthread_mutex_init", errno: error) }
    }

    /// Locks a robust mutex, waiting until `deadline` (nil: no limit) on the monotonic clock.
    /// Returns nil on timeout. A dead owner's mutex is made consistent and reported.
    /// Signals do not disturb the wait (the deadline is absolute).
    ///
    /// The wait is cut into slices of `robustLockSlice`, each a timed lock that tries the mutex's word
    /// again: a holder killed inside `pthread_mutex_unlock`, after it freed the word but before it
    /// woke the sleeper, leaves that wake-up lost for good (the kernel repairs only mutexes still
    /// held at death), and an untimed wait would sleep for ever on a free mutex.
    static func lockSharedMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, deadline: ContinuousClock.Instant?)
        throws(SystemError) -> MutexAcquisition?
    {
        while true {
            // ContinuousClock need not be CLOCK_MONOTONIC: carry the remaining time over.
            var slice = robustLockSlice
            if let deadline { slice = min(slice, max(ContinuousClock.now.duration(to: deadline), .zero)) }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            var until = now.adding(slice)
            let result = mp_mutex_lock_until_monotonic(mutex, &until)
            if result == ETIMEDOUT, deadline.map({ ContinuousClock.now < $0 }) ?? true { continue }
            return try acquisition(of: mutex, result, call: "pthread_mutex_clocklock")
        }
    }

    /// How long a robust-mutex waiter sleeps before it looks at the mutex again (see `lockSharedMutex`).
    static let robustLockSlice = Duration.milliseconds(100)

    /// Tries to lock a robust mutex without waiting; nil when another thread holds it.
    static func tryLockSharedMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) throws(SystemError)
        -> MutexAcquisition?
    {
        try acquisition(of: mutex, pthread_mutex_trylock(mutex), call: "pthread_mutex_trylock")
    }

    /// What a lock call's result means: acquired, acquired from a dead owner (made consistent here),
    /// not acquired (nil: timed out or busy), or an error.
    private static func acquisition(of mutex: UnsafeMutablePointer<pthread_mutex_t>, _ result: Int32, call: String)
        throws(SystemError) -> MutexAcquisition?
    {
        switch result {
        case 0:
            return .acquired
        case ETIMEDOUT, EBUSY:
            return nil
        case EOWNERDEAD:
            let error = pthread_mutex_consistent(mutex)
            if error != 0 { throw SystemError("pthread_mutex_consistent", errno: error) }
            return .recoveredFromDeadOwner
        default:
            throw SystemError(call, errno: result)
        }
    }

    /// Unlocks a robust mutex. EPERM: the calling thread does not own it.
    static func unlockSharedMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) throws(SystemError) {
        let error = pthread_mutex_unlock(mutex)
        if error != 0 { throw SystemError("pthread_mutex_unlock", errno: error) }
    }
}
