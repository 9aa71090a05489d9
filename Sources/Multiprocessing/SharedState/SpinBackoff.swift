// The one spin-then-sleep policy of the shared-memory waits: look at a word a few times, with a
// growing CPU pause between looks, before paying for a futex sleep and wake-up.

/// A short spin with exponential back-off: up to `looks` looks, the pauses between them growing
/// 1, 2, 4 ... `maxPauses` CPU `pause`s. Each site keeps its own order, because it was tuned:
/// `.pauseFirst` (a lock waiter: looking less often leaves the cache line with the holder, measured
/// 2.5× the throughput) or `.lookFirst` (the queue's mutex, which is usually free).
///
/// Not used by `CountingSemaphore` (a time budget with no back-off: a hand-off wants the unit at
/// once) nor by `Connection` (a spin credit earned by recent waits): their policies differ on purpose.
///
/// Cost: at most `looks` looks and about `looks × maxPauses` pauses (tens of µs); no system call.
enum SpinBackoff {
    /// Whether each round looks before or after its pause.
    enum Order {
        case lookFirst, pauseFirst
    }

    /// The longest pause between two looks, in CPU `pause`s.
    static let defaultMaxPauses = 64

    /// Looks until `look` returns true (then true) or `looks` looks have failed (then false).
    @inline(__always)
    static func spin(looks: Int, maxPauses: Int = defaultMaxPauses, _ order: Order, until look: () -> Bool) -> Bool {
        var pauses = 1
        for _ in 0..<looks {
            if order == .lookFirst && look() { return true }
            for _ in 0..<pauses { Sys.cpuRelax() }
            if order == .pauseFirst && look() { return true }
            pauses = min(pauses << 1, maxPauses)
        }
        return false
    }
}
