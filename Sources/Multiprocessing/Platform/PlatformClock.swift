// The platform layer for reading the monotonic clock cheaply, as a plain number.

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
}
