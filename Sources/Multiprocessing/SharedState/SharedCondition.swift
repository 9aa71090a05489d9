// A condition variable for processes that a dead waiter cannot break: a 32-bit sequence number in
// shared memory and a futex. glibc's process-shared pthread_cond_t keeps per-waiter bookkeeping in
// the shared condvar, so a waiter killed in the middle of a wait can swallow a wake-up meant for
// others; here the only shared state is a counter, and the kernel forgets a dead sleeper.

import Synchronization

/// A view of a futex-based condition in a `SharedMemory` region, used with any lock that the
/// caller holds around `prepareToWait` and `notify` (a `SharedMutex`, a `Lock`, an `RLock`).
///
/// How it works: `notify` increments the sequence (with the lock held) and wakes up to n sleepers.
/// A waiter records the sequence with the lock held, releases the lock, and sleeps on the futex as
/// long as the sequence is unchanged; then it re-takes the lock. A notify between the record and the
/// sleep changes the word, so the futex does not sleep: no wake-up is lost.
///
/// Guarantees: a waiter that times out (the kernel did not wake it) reports false and took no
/// wake-up; a waiter killed mid-wait takes none either. A waiter may wake without its own wake-up
/// when a notify races with its going to sleep or a signal interrupts its sleep: callers re-check
/// their predicate, as with any condition variable.
///
/// Cost: `notify` with no waiter is one atomic increment (no system call); a wait is one futex sleep.
package struct SharedCondition: @unchecked Sendable {
    /// Where the condition's two words live in a region.
    package struct Fields: Sendable {
        let sequence: SharedField<Atomic<UInt32>>
        let waiters: SharedField<Atomic<UInt32>>
    }

    private let memory: SharedMemory
    private let sequence: UnsafeMutablePointer<Atomic<UInt32>>
    /// Registered waiters (an upper bound: a killed waiter stays counted, which only costs a futex
    /// wake call per notify). With none, `notify` makes no system call.
    private let waiters: UnsafeMutablePointer<Atomic<UInt32>>

    /// Reserves room for a condition in a region's layout.
    package static func reserve(in layout: inout SharedLayout) -> Fields {
        layout.startCacheLine()
        return Fields(sequence: layout.reserve(Atomic<UInt32>.self), waiters: layout.reserve(Atomic<UInt32>.self))
    }

    /// Initializes the condition in `fields`: once, by the creator, before other processes use it.
    package init(initializing fields: Fields, in memory: SharedMemory) {
        self.memory = memory
        self.sequence = memory.pointer(to: fields.sequence)
        self.waiters = memory.pointer(to: fields.waiters)
        sequence.initialize(to: Atomic(0))
        waiters.initialize(to: Atomic(0))
    }

    /// Step 1 of a wait, with the lock held: registers the caller and returns its ticket.
    /// Every `prepareToWait` must be followed by exactly one `sleep(ticket:until:)`.
    package func prepareToWait() -> UInt32 {
        waiters.pointee.add(1, ordering: .sequentiallyConsistent)
        return sequence.pointee.load(ordering: .sequentiallyConsistent)
    }

    /// Step 2, after releasing the lock: sleeps until a `notify` that came after the ticket, or until
    /// `deadline` (never: no limit). True when notified, false on timeout. Signals do not end the wait
    /// early, and the wait does not restart from scratch after them: it goes on until the same deadline.
    /// Then the caller re-takes the lock.
    package func sleep(ticket: UInt32, until deadline: Deadline) -> Bool {
        defer { waiters.pointee.subtract(1, ordering: .sequentiallyConsistent) }
        let word = UnsafeMutableRawPointer(sequence).assumingMemoryBound(to: UInt32.self)
        while true {
            if sequence.pointee.load(ordering: .sequentiallyConsistent) != ticket { return true }
            let timeout = deadline.remaining
            if let timeout, timeout <= .zero { return false }
            switch Sys.futexWait(word, expecting: ticket, timeout: timeout) {
            case .woken, .valueChanged, .interrupted:
                continue  // the top of the loop decides: notified, or sleep again
            case .timedOut:
                // The kernel did not pick this waiter: a notify it missed went to another one.
                if deadline.hasPassed { return false }
            }
        }
    }

    /// How many waiters are registered (including any killed mid-wait). For tests and diagnostics.
    package var waiterCount: Int {
        Int(waiters.pointee.load(ordering: .relaxed))
    }

    /// With the lock held: wakes up to `count` waiters. No system call when nobody waits.
    package func notify(_ count: Int = 1) {
        guard count > 0 else { return }
        sequence.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent)
        if waiters.pointee.load(ordering: .sequentiallyConsistent) > 0 {
            let word = UnsafeMutableRawPointer(sequence).assumingMemoryBound(to: UInt32.self)
            Sys.futexWake(word, count: Int32(clamping: count))
        }
    }

    /// With the lock held: wakes every waiter.
    package func notifyAll() {
        notify(Int(Int32.max))
    }

    /// A whole wait on a `SharedMutex` the caller holds: registers, unlocks, sleeps until notified or
    /// `deadline`, and locks again (without a deadline, as a condition must return with its lock).
    /// Returns whether it was notified, and how the mutex was re-taken (its owner may have died).
    package func wait(releasing mutex: SharedMutex, until deadline: Deadline) throws(SystemError) -> (
        notified: Bool, relock: MutexAcquisition
    ) {
        let ticket = prepareToWait()
        do {
            try mutex.unlock()
        } catch {
            _ = sleep(ticket: ticket, until: .now)  // unregisters
            throw error
        }
        let notified = sleep(ticket: ticket, until: deadline)
        return (notified, try mutex.lock())
    }
}
