// The one deadline type of the runtime: when a wait gives up, as a plain number on the monotonic clock.

/// When a wait gives up: a moment on the monotonic clock (`Sys.monotonicNanoseconds`), or never.
/// A plain number, cheap to pass around on fast paths (unlike an optional `ContinuousClock.Instant`,
/// a resilient type), and compared with `<` / `>=`: never is later than every moment.
///
/// Cost: making one from a timeout, `hasPassed` and `remaining` read the clock once (a vDSO call,
/// about 20 ns); nothing else makes a call.
package struct Deadline: Comparable, Sendable {
    /// Nanoseconds on `Sys.monotonicNanoseconds`; `Int64.max` for never.
    let nanoseconds: Int64

    /// No deadline: wait as long as it takes.
    package static var never: Deadline { Deadline(nanoseconds: .max) }
    /// This moment: a wait until now looks once and does not sleep.
    package static var now: Deadline { Deadline(nanoseconds: Sys.monotonicNanoseconds) }

    init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    /// `timeout` from now; never for nil. A zero or negative timeout is now (it has passed already: the
    /// wait looks once and does not sleep), so a negative one does the same as zero everywhere.
    package init(timeout: Duration?) {
        guard let timeout else {
            self = .never
            return
        }
        self = timeout <= .zero ? .now : Deadline.now.adding(timeout)
    }

    var isNever: Bool { nanoseconds == .max }
    /// Whether the clock has reached it (never: false).
    var hasPassed: Bool { !isNever && Sys.monotonicNanoseconds >= nanoseconds }

    /// The time left: nil for never, zero once passed.
    var remaining: Duration? { remaining(at: .now) }

    /// The time left at `now` (a reading of `Deadline.now`, for a caller that already has one).
    func remaining(at now: Deadline) -> Duration? {
        if isNever { return nil }
        return nanoseconds <= now.nanoseconds ? .zero : .nanoseconds(nanoseconds - now.nanoseconds)
    }

    /// Later by `duration` (never stays never; saturates instead of overflowing).
    func adding(_ duration: Duration) -> Deadline {
        guard !isNever else { return self }
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (span, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        let (sum, overflow3) = nanoseconds.addingReportingOverflow(span)
        if overflow1 || overflow2 || overflow3 {
            return seconds < 0 ? Deadline(nanoseconds: .min) : Deadline(nanoseconds: .max - 1)  // not `never`, as good
        }
        return Deadline(nanoseconds: sum)
    }

    /// The time left in whole milliseconds rounded up, for poll() and epoll_wait(): -1 for never, 0
    /// once passed.
    var pollMilliseconds: Int32 {
        if isNever { return -1 }
        let now = Sys.monotonicNanoseconds
        return nanoseconds <= now ? 0 : Int32(clamping: (nanoseconds - now - 1) / 1_000_000 + 1)
    }

    /// The earlier of the two (a wait's slice that must not outlast the wait's deadline).
    func earlier(_ other: Deadline) -> Deadline { nanoseconds <= other.nanoseconds ? self : other }

    /// The same moment on `ContinuousClock` (nil for never), for the platform calls that take instants.
    var instant: ContinuousClock.Instant? {
        guard let remaining else { return nil }
        return ContinuousClock.now + remaining
    }

    package static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.nanoseconds < rhs.nanoseconds }
}
