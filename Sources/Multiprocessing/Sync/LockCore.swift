// The engine of Lock and RLock: a 32-bit word in shared memory holding the holder's thread id, a
// futex to sleep on, and death recovery. Uncontended acquire/release are one atomic instruction each.

import CMultiprocessingShims
import Glibc
import Synchronization

/// A view of one lock's words in a `SharedMemory` region. The view keeps its region alive.
///
/// - `owner` (the futex word): 0 when free, else the kernel thread id of the holder (the pid for a
///   main thread). Acquire is a compare-and-swap 0 → tid; release an exchange → 0.
/// - `sleepers`: how many threads sleep (or are about to) on the futex. A release makes the wake-up
///   system call only when it is not zero. Acquirers increment it before their last look at `owner`,
///   releasers clear `owner` before looking at it (both sequentially consistent), so no wake-up is lost.
/// - A contended acquirer spins briefly, then sleeps on the futex in slices; after each slice it asks
///   the kernel whether the holder still exists. A holder that died (killed while holding) is replaced
///   by a compare-and-swap dead-tid → own tid, and the take-over is recorded in `recovery` for the new
///   holder to see, until it releases.
struct LockCore: @unchecked Sendable {
    struct Fields: Sendable {
        let owner: SharedField<Atomic<UInt32>>
        let sleepers: SharedField<Atomic<UInt32>>
        /// The holder's (tid << 32 | pid), written just after acquiring: names the process in reports.
        let holder: SharedField<Atomic<UInt64>>
        /// (tid of the thread that took over << 32 | pid of the dead holder), 0 when none.
        let recovery: SharedField<Atomic<UInt64>>
        /// The RLock's recursion depth (written by the owner only).
        let depth: SharedField<Atomic<UInt32>>
        /// With a trace on: the address of the holder's `acquired` record, that the release turns into
        /// one `held` record (written by whoever holds or releases, so never by two at once).
        let heldRecord: SharedField<Atomic<UInt>>
        /// With a trace on: the latest hold's start (as the trace stamps it), written while holding.
        let lastStart: SharedField<Atomic<Int64>>
    }

    /// Looks at the word this many times before sleeping: a short critical section in another
    /// process usually ends meanwhile. Between looks the waiter pauses 1, 2, 4 ... up to 64 CPU
    /// `pause`s (`SpinBackoff`, pause first; about 25 µs in all here): looking less often leaves the
    /// cache line with the holder, which can then run many critical sections in a row (measured: 2.5×
    /// the throughput of looking after every pause).
    static let spinLimit = 20
    /// How long a waiter sleeps before it checks whether the holder is still alive.
    static let livenessSlice = Duration.milliseconds(20)

    private let memory: SharedMemory
    private let owner: UnsafeMutablePointer<Atomic<UInt32>>
    private let sleepers: UnsafeMutablePointer<Atomic<UInt32>>
    private let holder: UnsafeMutablePointer<Atomic<UInt64>>
    private let recoveryRecord: UnsafeMutablePointer<Atomic<UInt64>>
    let depth: UnsafeMutablePointer<Atomic<UInt32>>
    private let heldRecord: UnsafeMutablePointer<Atomic<UInt>>
    private let lastStart: UnsafeMutablePointer<Atomic<Int64>>
    /// What a trace calls this lock (Lock or RLock).
    private let traced: TraceObject

    /// Reserves one lock's words, together on one cache line (with whatever the caller adds next).
    /// The trace's two words start a cache line of their own: a waiter spinning on the owner word
    /// never pulls them away from the holder that writes them.
    private static func traceLine(_ layout: inout SharedLayout) -> SharedField<Atomic<UInt>> {
        layout.startCacheLine()
        return layout.reserve(Atomic<UInt>.self)
    }

    static func reserve(in layout: inout SharedLayout) -> Fields {
        layout.startCacheLine()
        return Fields(
            owner: layout.reserve(Atomic<UInt32>.self), sleepers: layout.reserve(Atomic<UInt32>.self),
            holder: layout.reserve(Atomic<UInt64>.self), recovery: layout.reserve(Atomic<UInt64>.self),
            depth: layout.reserve(Atomic<UInt32>.self), heldRecord: traceLine(&layout),
            lastStart: layout.reserve(Atomic<Int64>.self))
    }

    /// Initializes the words (unlocked): once, by the creator, before other processes use them.
    init(initializing fields: Fields, in memory: SharedMemory, tracedAs traced: TraceObject = .lock) {
        self.memory = memory
        self.traced = traced
        owner = memory.pointer(to: fields.owner)
        sleepers = memory.pointer(to: fields.sleepers)
        holder = memory.pointer(to: fields.holder)
        recoveryRecord = memory.pointer(to: fields.recovery)
        depth = memory.pointer(to: fields.depth)
        heldRecord = memory.pointer(to: fields.heldRecord)
        lastStart = memory.pointer(to: fields.lastStart)
        owner.initialize(to: Atomic(0))
        sleepers.initialize(to: Atomic(0))
        holder.initialize(to: Atomic(0))
        recoveryRecord.initialize(to: Atomic(0))
        depth.initialize(to: Atomic(0))
        heldRecord.initialize(to: Atomic(0))
        lastStart.initialize(to: Atomic(0))
    }

    private var ownerWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(owner).assumingMemoryBound(to: UInt32.self)
    }

    /// The calling thread's id, as stored in `owner`.
    @inline(__always)
    static var me: UInt32 { UInt32(bitPattern: Sys.threadID) }

    /// The holder's thread id, 0 when free.
    var ownerThread: UInt32 { owner.pointee.load(ordering: .relaxed) }

    /// The holder's pid (from `holder`, or its thread id if the holder has not written it yet).
    var holderPid: pid_t {
        pid(ofHolder: ownerThread)
    }

    private func pid(ofHolder thread: UInt32) -> pid_t {
        let identity = holder.pointee.load(ordering: .relaxed)
        if thread != 0 && UInt32(truncatingIfNeeded: identity >> 32) == thread {
            return pid_t(bitPattern: UInt32(truncatingIfNeeded: identity))
        }
        return pid_t(bitPattern: thread)
    }

    /// Acquires for the calling thread, waiting until `deadline` (never: no limit; a passed deadline: no
    /// wait at all). False on timeout.
    @inline(__always)
    func acquire(until deadline: Deadline) -> Bool {
        let me = Self.me
        if let region = mp_trace_active() { return acquireTraced(region, me, until: deadline) }
        if take(me) { return true }
        var stamp: Int64 = 0
        var slept = false
        return acquireContended(me, until: deadline, stamping: nil, &stamp, slept: &slept)
    }

    /// With a trace on, a hold is stamped inside itself: right after the compare-and-swap that took
    /// the lock, and (``release()``) right before the store that frees it. Stamps taken outside (before
    /// the take, after the free) kept the hold shorter, but widened the gap between a release and the
    /// same thread's next acquire, and the other process then took the lock at nearly every round:
    /// each hand-over moves the lock's cache line, and the bench's contended lock ran 3 to 4 times
    /// slower traced instead of 2.5 times. A wait that went to sleep (or timed out) is recorded from
    /// the first look; one that ended within the spin (microseconds, finer than a timeline shows)
    /// writes no record of its own.
    @inline(never)
    private func acquireTraced(_ region: UnsafeMutableRawPointer, _ me: UInt32, until deadline: Deadline) -> Bool {
        if take(me) {
            beginHold(region, stamped: mp_trace_stamp_active())
            return true
        }
        var stamp = mp_trace_stamp_active()
        let waitStart = stamp
        let waits = !deadline.hasPassed
        var slept = false
        let acquired = acquireContended(me, until: deadline, stamping: region, &stamp, slept: &slept)
        if waits && (slept || !acquired) {
            mp_trace_append_at(region, waitStart, Trace.kind(traced, .waiting), traceID, 0)
        }
        if acquired {
            beginHold(region, stamped: stamp)
        } else if waits {
            Trace.record(traced, .timedOut, owner)
        }
        return acquired
    }

    /// A trace's one record of the hold that starts now; the release completes it (``release()``).
    /// Holds of one lock keep their order in the trace: a stamp taken before acquiring (the rare
    /// takes after a sleep) is used only if no hold that began after it came first (else the hold
    /// is stamped again, holding).
    @inline(__always)
    private func beginHold(_ region: UnsafeMutableRawPointer, stamped stamp: Int64) {
        let start = stamp >= lastStart.pointee.load(ordering: .relaxed) ? stamp : mp_trace_stamp_active()
        lastStart.pointee.store(start, ordering: .relaxed)
        let record = mp_trace_begin_hold(region, start, Trace.kind(traced, .acquired), traceID)
        heldRecord.pointee.store(UInt(bitPattern: record), ordering: .relaxed)
    }

    private var traceID: UInt64 { UInt64(UInt(bitPattern: owner)) }

    /// `take`, stamped just before when a trace is on.
    @inline(__always)
    private func take(_ me: UInt32, stamping region: UnsafeMutableRawPointer?, _ stamp: inout Int64) -> Bool {
        if region != nil { stamp = mp_trace_stamp_active() }
        return take(me)
    }

    @inline(__always)
    private func take(_ me: UInt32) -> Bool {
        guard owner.pointee.compareExchange(expected: 0, desired: me, ordering: .acquiring).exchanged else {
            return false
        }
        noteHolder(me)
        return true
    }

    @inline(__always)
    private func noteHolder(_ me: UInt32) {
        holder.pointee.store(UInt64(me) << 32 | UInt64(UInt32(bitPattern: Sys.processID)), ordering: .relaxed)
    }

    /// `slept`: set when the spin did not get the lock (the wait went on to the futex). With a trace
    /// (`region`), `stamp` is the time just before the compare-and-swap that took the lock.
    @inline(never)
    private func acquireContended(
        _ me: UInt32, until deadline: Deadline, stamping region: UnsafeMutableRawPointer?, _ stamp: inout Int64,
        slept: inout Bool
    ) -> Bool {
        if deadline.hasPassed {
            // Only one look, but a dead holder's lock is still taken over.
            while true {
                let current = owner.pointee.load(ordering: .relaxed)
                if current == 0 {
                    if take(me, stamping: region, &stamp) { return true }
                    continue
                }
                return takeOverIfDead(current, me, stamping: region, &stamp)
            }
        }
        if SpinBackoff.spin(
            looks: Self.spinLimit, .pauseFirst,
            until: { owner.pointee.load(ordering: .relaxed) == 0 && take(me) })
        {
            if region != nil { stamp = mp_trace_stamp_active() }  // holding: see `acquireTraced`
            return true
        }
        slept = true
        sleepers.pointee.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.pointee.subtract(1, ordering: .sequentiallyConsistent) }
        var nextLivenessCheck = Deadline.now.adding(Self.livenessSlice)
        while true {
            let current = owner.pointee.load(ordering: .sequentiallyConsistent)
            if current == 0 {
                if take(me, stamping: region, &stamp) { return true }
                continue
            }
            let now = Deadline.now
            let expired = now >= deadline
            if expired || now >= nextLivenessCheck {
                if takeOverIfDead(current, me, stamping: region, &stamp) { return true }
                if expired { return false }
                nextLivenessCheck = now.adding(Self.livenessSlice)
            }
            // Until the liveness check or the deadline, whichever is first (the check is a moment, not never).
            let nap = nextLivenessCheck.earlier(deadline).remaining(at: now) ?? Self.livenessSlice
            // Woken, changed, timed out or interrupted by a signal: the loop looks again, with the
            // same deadline (nothing restarts from scratch).
            _ = Sys.futexWait(ownerWord, expecting: current, timeout: nap)
        }
    }

    /// If the thread `current` that holds the lock no longer exists, takes the lock over and records it.
    private func takeOverIfDead(
        _ current: UInt32, _ me: UInt32, stamping region: UnsafeMutableRawPointer?, _ stamp: inout Int64
    ) -> Bool {
        guard current != me, Sys.threadIsGone(pid_t(bitPattern: current)) else { return false }
        let deadPid = UInt32(bitPattern: pid(ofHolder: current))
        guard owner.pointee.compareExchange(expected: current, desired: me, ordering: .acquiring).exchanged else {
            return false
        }
        recoveryRecord.pointee.store(UInt64(me) << 32 | UInt64(deadPid), ordering: .relaxed)
        noteHolder(me)
        if region != nil { stamp = mp_trace_stamp_active() }  // rare: stamped holding
        return true
    }

    /// Frees the lock, whoever holds it, and wakes one sleeper if there is one.
    /// Returns the previous holder's thread id: 0 means it was not locked.
    @inline(__always)
    func release() -> UInt32 {
        if recoveryRecord.pointee.load(ordering: .relaxed) != 0 {
            recoveryRecord.pointee.store(0, ordering: .relaxed)
        }
        // With a trace the hold's record is completed while still holding (see `acquireTraced`).
        if let region = mp_trace_active(), owner.pointee.load(ordering: .relaxed) != 0,
            let record = UnsafeMutablePointer<mp_trace_record>(bitPattern: heldRecord.pointee.load(ordering: .relaxed))
        {
            mp_trace_end_hold(
                region, record, Trace.kind(traced, .acquired), Trace.kind(traced, .held), traceID,
                holder.pointee.load(ordering: .relaxed))
        }
        let previous = owner.pointee.exchange(0, ordering: .sequentiallyConsistent)
        let wakes = previous != 0 && sleepers.pointee.load(ordering: .sequentiallyConsistent) != 0
        if wakes { Sys.futexWake(ownerWord, count: 1) }
        return previous
    }

    /// The take-over the current holder made, if it took the lock from a dead holder.
    var recovery: LockRecovery? {
        let record = recoveryRecord.pointee.load(ordering: .relaxed)
        guard record != 0, UInt32(truncatingIfNeeded: record >> 32) == ownerThread else { return nil }
        return LockRecovery(deadHolderPid: pid_t(bitPattern: UInt32(truncatingIfNeeded: record)))
    }
}
