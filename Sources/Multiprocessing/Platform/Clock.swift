// The clock: CLOCK_MONOTONIC as a plain number for hot paths, a sleep that signals do not cut short,
// and timespec arithmetic for the calls that take one.

import Glibc

extension Sys {
    /// Nanoseconds on CLOCK_MONOTONIC (since boot, not counting suspend): a plain Int64, for hot
    /// paths that must not pass `ContinuousClock.Instant` values around (a resilient type, which
    /// costs run-time metadata calls in generic code). A vDSO call: no system call, about 20 ns.
    static var monotonicNanoseconds: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
    }

    /// Sleeps for the whole duration; a signal does not cut it short.
    package static func sleep(for duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return }
            let (seconds, attoseconds) = remaining.components
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            _ = nanosleep(&request, nil)
        }
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
