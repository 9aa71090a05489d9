// Forking beside threads: what the runtime's one fork path does about it, besides the fork gate
// (Platform/ForkGate.swift), which keeps the runtime's own threads out of the way.
// - The warning: a fork while the program has threads of its own says so once per process, on
//   stderr, as Python 3.12 does (its DeprecationWarning from os.fork); `MP_FORK_WARNING=0` or
//   `ChildProcess.forkWarningEnabled = false` silences it.
// - The start words: each `ChildProcess` child gets a word of shared memory that it sets right
//   before it calls `run()`, so that a parent whose `join(timeout:)` timed out can tell a child
//   stuck before its target (the signature of a lock inherited locked) from one busy in it:
//   `hasStartedRunning` and `diagnosis`.

import CMultiprocessingShims
import Glibc
import Synchronization

/// The warning printed when the program forks beside threads of its own.
enum ForkWarning {
    /// `ChildProcess.forkWarningEnabled`.
    static let enabled = Atomic<Bool>(true)
    /// Whether this process has printed it (a forked child starts over: its threads are its own).
    static let printed = Atomic<Bool>(false)
    /// The environment variable that silences it when set to 0.
    static let environmentVariable = "MP_FORK_WARNING"

    /// The threads besides the forking one that may hold a lock at the fork: all of them but the
    /// runtime's own, which the gate parked (all of them when they did not park in time; none is
    /// counted when the forking thread is a runtime thread, which does not wait for the others; none
    /// in a process that never had a second thread, or that its caller knows has one thread).
    /// Cost: one read of /proc/self/stat (about 10 µs) in a process that has had threads; else none.
    static func otherThreads(after passage: ForkGate.Passage, singleThreaded: Bool) -> Int {
        if singleThreaded || mp_never_threaded() != 0 { return 0 }
        switch passage {
        case .held, .alone: return 0
        case .closed: return max(0, (Sys.threadCount() ?? 1) - 1 - ForkGate.runtimeThreads)
        case .timedOut: return max(0, (Sys.threadCount() ?? 1) - 1)
        }
    }

    /// In the parent, after a fork beside `otherThreads` threads: prints the warning, once.
    static func forked(otherThreads: Int) {
        guard otherThreads > 0, enabled.load(ordering: .relaxed) else { return }
        if Sys.environment(environmentVariable) == "0" { return }
        if printed.exchange(true, ordering: .relaxed) { return }
        Sys.writeAll(text(pid: ProcessTable.shared.pid, otherThreads: otherThreads), to: 2)
    }

    static func text(pid: pid_t, otherThreads: Int) -> String {
        let threads = otherThreads == 1 ? "1 other thread" : "\(otherThreads) other threads"
        return "Multiprocessing: warning: this process (pid \(pid)) forked while it had \(threads); "
            + "fork copies only the calling thread, so a child may hang for ever on a lock one of them held "
            + "(start children before starting threads, or use a Pool; \(environmentVariable)=0 silences this)\n"
    }
}

/// The start words of the children this process started: one word of shared memory each, 0 until
/// the child sets it right before it calls `run()`. One per process (`ProcessTable.starts`).
final class StartWords: @unchecked Sendable {
    typealias Word = UnsafeMutablePointer<Atomic<UInt32>>

    /// What the parent knows of one child's start.
    struct Record {
        let word: Word
        /// The threads of the parent, besides the forking one and the runtime's, at the fork.
        let otherThreads: Int
    }

    /// In a child started by `ChildProcess.start`, its own word (set in the child right after the fork).
    @exclusivity(unchecked) nonisolated(unsafe) static var own: Word?

    private let mutex = LocalMutex()
    private var free: [Word] = []

    /// A cleared word for a child about to be forked, nil if no memory could be mapped (the child
    /// then goes untracked). Cost: a lock; an mmap of one page every `Sys.pageSize / 4` children.
    func reserve() -> Word? {
        let word = mutex.withLock { () -> Word? in
            if free.isEmpty {
                let count = Sys.pageSize / MemoryLayout<Atomic<UInt32>>.stride
                // Kept for the life of the process: children hold words in it.
                guard let page = try? Sys.mapShared(byteCount: Sys.pageSize) else { return nil }
                let words = page.bindMemory(to: Atomic<UInt32>.self, capacity: count)
                free = (0..<count).reversed().map { words + $0 }
            }
            return free.popLast()
        }
        word?.pointee.store(0, ordering: .relaxed)
        return word
    }

    /// The word goes back: the fork failed, or the child has been reaped. (A child's record lives in
    /// its `ChildProcess`, written with its state after the fork: no map of records to update.)
    func release(_ word: Word) {
        mutex.withLock { free.append(word) }
    }

    /// In a child, right before `run()`: sets its word.
    static func markRunning() {
        own?.pointee.store(1, ordering: .releasing)
    }
}

extension ChildProcess {
    /// Whether a fork beside threads of the program's own prints its warning (true by default).
    ///
    /// `fork` copies only the calling thread: a lock that another thread held at that instant (the
    /// Swift runtime's, while that thread instantiated a generic type; malloc's; the program's own)
    /// stays locked in the child, and the child hangs for ever the first time it needs it. So the
    /// first ``start()`` or ``forkProcess()`` of a process that has other threads prints, once per
    /// process, on stderr:
    ///
    /// ```
    /// Multiprocessing: warning: this process (pid 4242) forked while it had 3 other threads; …
    /// ```
    ///
    /// Python 3.12 warns the same way (a `DeprecationWarning` from `os.fork`). The runtime's own
    /// threads (a pool's, the async forms') do not count: a fork waits until they are parked.
    /// Setting the environment variable `MP_FORK_WARNING=0` silences it too.
    ///
    /// Cost: reading or setting it is an atomic load or store. Warning or not, once the program has
    /// had a second thread, each fork from a program's thread counts the threads (a read of
    /// /proc/self/stat, about 10 µs), for ``diagnosis``; a program that never had one skips it.
    public static var forkWarningEnabled: Bool {
        get { ForkWarning.enabled.load(ordering: .relaxed) }
        set { ForkWarning.enabled.store(newValue, ordering: .relaxed) }
    }

    /// Whether the child has begun running: true once it is about to call ``run()`` (its target),
    /// false from ``start()`` until then. A child whose ``join(timeout:)-98o0p`` keeps returning
    /// false while this is false is stuck before its own code: see ``diagnosis``.
    ///
    /// nil when the runtime cannot tell: before ``start()``, once the child has been reaped (joined),
    /// or in a process that did not start it. True for ``currentProcess()``.
    /// - Cost: a lock, a lookup and a load of a word the child shares with its parent.
    public var hasStartedRunning: Bool? {
        if self === ProcessTable.shared.current { return true }
        guard let record = startRecord else { return nil }
        return record.word.pointee.load(ordering: .acquiring) != 0
    }

    /// One line on where the child stands, for a ``join(timeout:)-98o0p`` that returned false: not
    /// started; ended (and how); running its target; or started but not yet running it, and whether
    /// it was forked beside other threads, which is how a child hangs before its own code.
    ///
    /// ```
    /// Process-3 (pid 4242) has not begun running its target: it was forked while this process had
    /// 2 other threads, and may wait for ever for a lock one of them held then
    /// ```
    ///
    /// Reaps the child if it has ended (as ``exitStatus`` does). No error: the facts it cannot learn
    /// are left out. Python's `repr(process)` tells part of this (`started`, `stopped`, the exit code).
    /// - Cost: a few locks and a `waitpid(WNOHANG)`.
    public var diagnosis: String {
        guard let pid else { return "\(name) has not been started" }
        let named = "\(name) (pid \(pid))"
        if self === ProcessTable.shared.current { return "\(named) is the calling process" }
        if let status = exitStatus { return "\(named) \(status)" }
        guard isAlive else { return "\(named) has ended" }  // reaped by someone else: no status
        guard let record = startRecord else { return "\(named) is running" }
        let besideThreads = record.otherThreads == 1 ? "1 other thread" : "\(record.otherThreads) other threads"
        if record.word.pointee.load(ordering: .acquiring) != 0 {
            if record.otherThreads == 0 { return "\(named) is running its target" }
            return "\(named) is running its target; it was forked while this process had \(besideThreads)"
        }
        if record.otherThreads == 0 { return "\(named) has not begun running its target yet" }
        return "\(named) has not begun running its target: it was forked while this process had "
            + "\(besideThreads), and may wait for ever for a lock one of them held then"
    }
}
