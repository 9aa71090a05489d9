// The fork gate: keeps the runtime's own threads out of the way of a fork.
//
// `fork` copies only the calling thread. If another thread held a lock at that instant (the Swift
// runtime's metadata cache, taken while a new generic type is instantiated; a Dispatch queue; a
// program's mutex), the child inherits it locked by a thread that does not exist there, and hangs
// the first time it needs it. The runtime cannot stop a program's own threads, but its threads (a
// pool's I/O thread, the async forms' reactor and waiting threads) hold the gate, a writer-preferring
// reader/writer lock (in the C shim), whenever they run code, and let go of it only while blocked
// in their wait (poll, epoll_wait, a futex, a condition variable). The runtime's fork takes the
// gate as the writer: when it has it, every runtime thread is parked in a system call, holding no
// lock of the Swift runtime or of the C library.
//
// Rules for a runtime thread: `threadBegan()` first, `threadEnding()` last; `leave()` right before
// a blocking wait and `enter()` right after it; never `enter()` while holding a lock (it would
// wait for a fork holding the lock, while the fork waits for another runtime thread that may be
// waiting for that lock). A fork from a thread that holds the gate (a pool callback, a pool forking
// its zygote) does not wait for it: it cannot, as it holds it; other runtime threads may be running
// then (the pool replaces a zygote that hangs). A forked child gets a fresh gate that no thread
// holds (the C shim's atfork handler). The gate's cost on a runtime thread: an uncontended read
// lock and unlock per wait, well under 100 ns.

import CMultiprocessingShims
import Glibc

enum ForkGate {
    /// How long a fork waits for the runtime's threads to park before it forks anyway. They park
    /// within one turn of their loop (microseconds); only a callback that runs long, or one that
    /// waits for a lock the forking thread holds, keeps one out longer.
    static let patience = Duration.seconds(1)

    /// How a fork went through the gate.
    enum Passage {
        /// The forking thread holds the gate itself (a runtime thread): it did not wait.
        case held
        /// Every runtime thread is parked; `reopen` after the fork.
        case closed
        /// A runtime thread did not park within `patience`: forking anyway.
        case timedOut
        /// The process has never had a second thread: no runtime thread to park, and no lock taken
        /// (one write fewer to a page the fork has just shared with the child).
        case alone
    }

    /// A runtime thread begins: it is counted, and in the gate.
    static func threadBegan() { mp_fork_gate_thread_began() }
    /// A runtime thread is about to end: out of the gate, and no longer counted.
    static func threadEnding() { mp_fork_gate_thread_ending() }
    /// The runtime threads that exist now.
    static var runtimeThreads: Int { Int(mp_fork_gate_threads()) }

    /// Back into the gate after a wait; blocks while a fork waits or runs. Never with a lock held.
    @inline(__always) static func enter() { mp_fork_gate_enter() }
    /// Out of the gate, right before a blocking wait.
    @inline(__always) static func leave() { mp_fork_gate_leave() }
    /// Whether the calling thread holds the gate (it is a runtime thread outside its waits).
    static var isHeld: Bool { mp_fork_gate_held() != 0 }

    /// Before a fork: waits until every runtime thread is parked (at most `patience`).
    static func close() -> Passage {
        if isHeld { return .held }
        // Only the forking thread exists, and only it could start another: nothing to wait for.
        if mp_never_threaded() != 0 { return .alone }
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline = deadline.adding(patience)
        return mp_fork_gate_close(&deadline) == 0 ? .closed : .timedOut
    }

    /// After the fork, in the parent: lets the runtime threads go on. (The child gets a fresh gate
    /// from the C shim's atfork handler.)
    static func reopen(after passage: Passage) {
        if passage == .closed { mp_fork_gate_open() }
    }
}

extension Sys {
    /// The number of threads of this process now (from /proc/self/stat), nil if it cannot be read.
    /// Cost: an open, a read and a close, about 10 µs.
    static func threadCount() -> Int? {
        let count = mp_thread_count()
        return count > 0 ? Int(count) : nil
    }
}
