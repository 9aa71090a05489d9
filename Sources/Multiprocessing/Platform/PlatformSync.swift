// The platform layer for process-shared synchronization: futexes on words in shared memory,
// robust process-shared pthread mutexes, thread liveness, and cached process/thread ids.

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
    /// The calling process's pid, without a system call (cached; refreshed in a forked child).
    package static var processID: pid_t { mp_cached_pid() }

    /// The calling thread's kernel thread id, without a system call after the first (cached).
    /// Unique across every process of the machine while the thread lives; equals the pid for the
    /// main thread.
    package static var threadID: pid_t { mp_cached_tid() }

    /// A hint to the CPU inside a spin-wait loop.
    @inline(__always)
    static func cpuRelax() {
        mp_cpu_relax()
    }

    /// Sleeps while `word` holds `expected`, at most `timeout` (nil: no limit). One FUTEX_WAIT on a
    /// shared word; the caller loops, re-checking its condition.
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

    /// True when the thread (or process) with this id has ended: it no longer exists, or it is a
    /// zombie that nobody has reaped yet. A live or stopped thread is not gone. Costs a `kill(0)`
    /// and, while the id exists, one read of /proc/<id>/stat (about 10 µs).
    static func threadIsGone(_ tid: pid_t) -> Bool {
        guard tid > 0 else { return true }
        if Glibc.kill(tid, 0) != 0 && mp_errno() == ESRCH { return true }
        // kill(0) succeeds on a zombie: /proc tells. Unreadable /proc: assume it lives.
        let fd = open("/proc/\(tid)/stat", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return mp_errno() == ENOENT }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        // "tid (command) S ...": the state follows the last ')'.
        guard let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return false }
        let state = buffer[close + 2]
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
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

extension timespec {
    /// A non-negative duration as a timespec (negative durations become zero).
    init(positive duration: Duration) {
        let (seconds, attoseconds) = max(duration, .zero).components
        self.init(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    }

    func adding(_ duration: Duration) -> timespec {
        let extra = timespec(positive: duration)
        var sum = timespec(tv_sec: tv_sec + extra.tv_sec, tv_nsec: tv_nsec + extra.tv_nsec)
        if sum.tv_nsec >= 1_000_000_000 {
            sum.tv_sec += 1
            sum.tv_nsec -= 1_000_000_000
        }
        return sum
    }
}
