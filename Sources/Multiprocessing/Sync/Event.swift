// Event: Python's multiprocessing.Event, a flag in shared memory that processes can wait for.

import Synchronization

/// A flag that processes share: ``set()`` raises it and wakes every waiter, ``clear()`` lowers it,
/// ``wait(timeout:)`` blocks until it is raised. Create it before forking.
///
/// A waiter returns true when the flag was set at any moment during its wait, even if another process
/// cleared it again before the waiter ran (as in CPython). There is no lock inside: a process killed
/// in the middle of `set` or `wait` cannot block the others.
///
/// Cost: ``isSet``, and `set`/`clear` with nobody waiting, are single atomic operations in shared
/// memory; a wait sleeps on a futex. One 4 KiB page.
public final class Event: @unchecked Sendable {
    /// A sleeper looks at the word this often even without a wake-up, so that a setter killed
    /// between its store and its wake-up call cannot leave a waiter asleep for ever.
    static let sleepSlice = Duration.milliseconds(200)

    private let memory: SharedMemory
    /// (generation << 1) | flag. `set` raises the flag and starts a new generation, so a waiter can
    /// tell that a set happened even after a `clear`.
    private let word: UnsafeMutablePointer<Atomic<UInt32>>
    private let waiters: UnsafeMutablePointer<Atomic<UInt32>>

    /// Creates a lowered flag in fresh shared memory. Python's `Event()`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init() throws(SyncError) {
        Tracing.startIfAsked()
        var layout = SharedLayout()
        let wordField = layout.reserve(Atomic<UInt32>.self)
        let waitersField = layout.reserve(Atomic<UInt32>.self)
        memory = try SyncError.wrapping { () throws(SystemError) in try SharedMemory(layout) }
        word = memory.pointer(to: wordField)
        waiters = memory.pointer(to: waitersField)
        word.initialize(to: Atomic(0))
        waiters.initialize(to: Atomic(0))
    }

    private var futexWord: UnsafeMutablePointer<UInt32> {
        UnsafeMutableRawPointer(word).assumingMemoryBound(to: UInt32.self)
    }

    /// Whether the flag is raised right now. Python's `Event.is_set()`.
    public var isSet: Bool { word.pointee.load(ordering: .acquiring) & 1 == 1 }

    /// How many processes (or threads) are waiting, for tests: a waiter killed mid-wait stays counted.
    package var waiterCount: Int { Int(waiters.pointee.load(ordering: .relaxed)) }

    /// Raises the flag and wakes every process waiting for it. Setting a raised flag does nothing.
    /// Python's `Event.set()`.
    public func set() {
        Trace.record(.event, .set, word)
        var current = word.pointee.load(ordering: .relaxed)
        while current & 1 == 0 {
            let raised = (current &+ 2) | 1  // next generation, flag up
            let (exchanged, original) = word.pointee.compareExchange(
                expected: current, desired: raised, ordering: .sequentiallyConsistent)
            if exchanged {
                if waiters.pointee.load(ordering: .sequentiallyConsistent) != 0 {
                    Sys.futexWake(futexWord, count: Int32.max)
                }
                return
            }
            current = original
        }
    }

    /// Lowers the flag: later waits block until the next ``set()``. Python's `Event.clear()`.
    public func clear() {
        word.pointee.bitwiseAnd(~1, ordering: .sequentiallyConsistent)
    }

    /// Waits until the flag is raised, at most `timeout` (nil: as long as it takes; zero or negative:
    /// just looks). Returns true when it was raised, false on timeout. Signals neither shorten nor
    /// restart the wait. Python's `Event.wait(timeout)`.
    @discardableResult
    public func wait(timeout: Duration? = nil) -> Bool {
        let seen = word.pointee.load(ordering: .acquiring)
        if seen & 1 == 1 { return true }
        guard Trace.isOn else { return wait(after: seen, timeout: timeout) }
        Trace.record(.event, .waiting, word)
        let raised = wait(after: seen, timeout: timeout)
        Trace.record(.event, raised ? .woken : .timedOut, word)
        return raised
    }

    private func wait(after seen: UInt32, timeout: Duration?) -> Bool {
        let deadline = Deadline(timeout: timeout)
        waiters.pointee.add(1, ordering: .sequentiallyConsistent)
        defer { waiters.pointee.subtract(1, ordering: .sequentiallyConsistent) }
        while true {
            let current = word.pointee.load(ordering: .sequentiallyConsistent)
            // Raised now, or raised (a new generation) and cleared since we looked.
            if current != seen { return true }
            var nap = Self.sleepSlice
            if let remaining = deadline.remaining {
                if remaining <= .zero { return false }
                nap = min(nap, remaining)
            }
            _ = Sys.futexWait(futexWord, expecting: seen, timeout: nap)
        }
    }
}
