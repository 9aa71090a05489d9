// CountingSemaphore and BoundedSemaphore: Python's multiprocessing counterparts, a counter in shared memory.

import Synchronization

/// A counter that processes share: ``acquire()`` takes one unit, waiting while there are none;
/// ``release()`` gives one back (and may raise the value above the initial one; ``BoundedSemaphore``
/// may not).
/// Create it before forking. It has no owner: any process may release.
///
/// A process killed while it holds units does not give them back (as in CPython); nothing else is
/// affected: there is no lock inside to be left held.
///
/// Cost: uncontended `acquire`/`release` are one compare-and-swap each in shared memory, with no
/// system call; a waiter spins briefly, then sleeps on a futex, and `release` makes a wake-up system
/// call only when someone sleeps. One 4 KiB page.
public class CountingSemaphore: @unchecked Sendable {
    /// How long a waiter keeps looking at the counter, one CPU `pause` apart, before it sleeps: in a
    /// producer–consumer hand-off the other side usually releases meanwhile, and a futex sleep and
    /// wake-up costs tens of µs here. (Unlike `Lock`, no growing back-off: a hand-off wants the unit
    /// at once.) Measured in time, not in pauses: a `pause` takes 3 to 40 ns depending on the CPU.
    static let spinBudget = Duration.microseconds(10)
    /// A sleeper re-checks the value this often even without a wake-up, so that a releaser killed
    /// between its increment and its wake-up call cannot leave a waiter asleep for ever.
    static let sleepSlice = Duration.milliseconds(200)

    private let memory: SharedMemory
    private let counter: UnsafeMutablePointer<Atomic<UInt32>>
    private let sleepers: UnsafeMutablePointer<Atomic<UInt32>>
    /// The largest value `release` may reach.
    private let limit: UInt32
    private let initialValue: Int

    /// Creates a semaphore with `value` units (Python's default is 1).
    /// - Throws: ``SyncError/invalidSemaphoreValue(_:)`` when `value` is negative or above `Int32.max`;
    ///   `.system` when the memory cannot be mapped.
    public convenience init(value: Int = 1) throws(SyncError) {
        try self.init(value: value, bounded: false)
    }

    init(value: Int, bounded: Bool) throws(SyncError) {
        Tracing.startIfAsked()
        guard value >= 0 && value <= Int(Int32.max) else { throw .invalidSemaphoreValue(value) }
        var layout = SharedLayout()
        let counterField = layout.reserve(Atomic<UInt32>.self)
        let sleepersField = layout.reserve(Atomic<UInt32>.self)
        memory = try SyncError.wrapping { () throws(SystemError) in try SharedMemory(layout) }
        counter = memory.pointer(to: counterField)
        sleepers = memory.pointer(to: sleepersField)
        counter.initialize(to: Atomic(UInt32(value)))
        sleepers.initialize(to: Atomic(0))
        limit = bounded ? UInt32(value) : UInt32(Int32.max)
        initialValue = value
    }

    private var counterWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(counter).assumingMemoryBound(to: UInt32.self)
    }

    /// The current value: how many units are free. A snapshot: it may change at once.
    /// Python's `Semaphore.get_value()` (not on macOS in Python).
    public var value: Int { Int(counter.pointee.load(ordering: .relaxed)) }

    /// Takes one unit, waiting as long as it takes. Signals do not interrupt the wait. Python's `Semaphore.acquire()`.
    public func acquire() {
        _ = acquire(until: .never)
    }

    /// Takes one unit, waiting at most `timeout` (zero or negative: not at all). False on timeout.
    /// Signals neither shorten nor restart the wait. Python's `Semaphore.acquire(block=True, timeout)`.
    public func acquire(timeout: Duration) -> Bool {
        acquire(until: Deadline(timeout: timeout))
    }

    /// Takes one unit if one is free; never waits. Python's `Semaphore.acquire(block=False)`.
    public func tryAcquire() -> Bool {
        guard takeOne() else { return false }
        Trace.record(.semaphore, .acquired, counter)
        return true
    }

    /// Gives one unit back and wakes one waiter, if any. Python's `Semaphore.release()`.
    /// - Throws: ``SyncError/releasedBoundedSemaphoreTooOften(initialValue:)`` for a
    ///   ``BoundedSemaphore`` already at its initial value; `.semaphoreOverflow` at `Int32.max`.
    public func release() throws(SyncError) {
        // Stamped before the increment: a waiter that takes this unit records its acquire after it,
        // so a trace never shows more units taken at once than there are.
        let stamp = Trace.stamp()
        var current = counter.pointee.load(ordering: .relaxed)
        while true {
            if current >= limit {
                throw limit == UInt32(Int32.max)
                    ? .semaphoreOverflow : .releasedBoundedSemaphoreTooOften(initialValue: initialValue)
            }
            let (exchanged, original) = counter.pointee.compareExchange(
                expected: current, desired: current + 1, ordering: .sequentiallyConsistent)
            if exchanged { break }
            current = original
        }
        Trace.record(.semaphore, .released, counter, at: stamp)
        if sleepers.pointee.load(ordering: .sequentiallyConsistent) != 0 {
            Sys.futexWake(counterWord, count: 1)
        }
    }

    /// Runs `body` holding one unit, and gives it back afterwards, also when `body` throws. Python's `with semaphore:`.
    public func withAcquired<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        acquire()
        defer {
            do { try release() } catch { preconditionFailure("CountingSemaphore.withAcquired: \(error)") }
        }
        return try body()
    }

    @inline(__always)
    private func takeOne() -> Bool {
        var current = counter.pointee.load(ordering: .relaxed)
        while current > 0 {
            let (exchanged, original) = counter.pointee.compareExchange(
                expected: current, desired: current - 1, ordering: .acquiring)
            if exchanged { return true }
            current = original
        }
        return false
    }

    private func acquire(until deadline: Deadline) -> Bool {
        if takeOne() {
            Trace.record(.semaphore, .acquired, counter)
            return true
        }
        let waits = Trace.isOn && !deadline.hasPassed
        if waits { Trace.record(.semaphore, .waiting, counter) }
        let acquired = acquireContended(until: deadline)
        if acquired || waits { Trace.record(.semaphore, acquired ? .acquired : .timedOut, counter) }
        return acquired
    }

    @inline(never)
    private func acquireContended(until deadline: Deadline) -> Bool {
        if deadline.hasPassed { return false }
        // A spin budget, not a timeout, and not `SpinBackoff` (see `spinBudget`): on `ContinuousClock` as before.
        let spinUntil = ContinuousClock.now + Self.spinBudget
        repeat {
            for _ in 0..<32 {
                Sys.cpuRelax()
                if counter.pointee.load(ordering: .relaxed) != 0 && takeOne() { return true }
            }
        } while ContinuousClock.now < spinUntil
        sleepers.pointee.add(1, ordering: .sequentiallyConsistent)
        defer { sleepers.pointee.subtract(1, ordering: .sequentiallyConsistent) }
        while true {
            if counter.pointee.load(ordering: .sequentiallyConsistent) != 0 {
                if takeOne() { return true }
                continue
            }
            var nap = Self.sleepSlice
            if let remaining = deadline.remaining {
                if remaining <= .zero { return false }
                nap = min(nap, remaining)
            }
            // Woken, changed, timed out or interrupted: the loop looks again with the same deadline.
            _ = Sys.futexWait(counterWord, expecting: 0, timeout: nap)
        }
    }
}

/// A semaphore whose value may not rise above its initial value: one release too many is an error
/// (in CPython it is a ValueError), which catches a unit given back twice.
public final class BoundedSemaphore: CountingSemaphore, @unchecked Sendable {
    /// Creates a bounded semaphore with `value` units, which is also its maximum. Python's `BoundedSemaphore(value=1)`.
    /// - Throws: ``SyncError/invalidSemaphoreValue(_:)``; `.system` when the memory cannot be mapped.
    public init(value: Int = 1) throws(SyncError) {
        try super.init(value: value, bounded: true)
    }
}
