// The one fork path of the runtime, and the hook that lets a program watch it.
// Every fork the runtime makes goes through `ProcessTable.fork(installExitHandler:)`, which parks
// the runtime's own threads first (ForkGate), warns about the program's (ForkSafety.swift), and tells
// the installed observer each new child's pid. The book's runner uses it to log every pid a chapter
// creates; the runtime itself records nothing.

import Glibc

/// Watches the forks the runtime makes. Installed once with `ProcessTable.install(_:)`.
package struct ForkObserver: Sendable {
    let didFork: @Sendable (_ child: pid_t) -> Void

    /// `didFork` runs in the parent, right after each fork the runtime makes (`ChildProcess.start`,
    /// `forkProcess`, a pool's zygote and its workers), with the new child's pid. It may run in a
    /// pool's zygote, which has one thread and must stay plain: no Dispatch, no Swift concurrency,
    /// no lock another thread may hold. Its cost is added to every fork.
    package init(didFork: @escaping @Sendable (_ child: pid_t) -> Void) {
        self.didFork = didFork
    }
}

extension ProcessTable {
    /// The observer, if any. Written once before the first fork; a fork copies it (plain memory),
    /// so children and their children keep observing.
    /// Unchecked: read at every fork, and a checked access writes the thread's access set, a page
    /// the fork has just shared with the child (a copy-on-write fault in the parent for nothing).
    @exclusivity(unchecked) nonisolated(unsafe) private static var observer: ForkObserver?

    /// Installs `observer` for every later fork of this process and of its descendants.
    /// Call it once, before the first fork, from one thread (it is a plain store, not synchronised).
    package static func install(_ observer: ForkObserver) {
        self.observer = observer
    }

    /// The runtime's one fork: installs the exit handler first if asked (`ChildProcess` children
    /// are joined at exit; a bare `forkProcess` child is not), flushes stdio so buffered text is not
    /// printed twice, waits until the runtime's own threads are parked (`ForkGate`), forks, and in
    /// the parent warns once if the program has threads of its own (`ForkWarning`) and tells the
    /// observer. A `ChildProcess` child (the one caller that asks for the exit handler) gets a start
    /// word (`StartWords`). The caller does the child's side (`becomeChild`) when this returns 0.
    /// - Throws: ``SystemError`` when fork fails (EAGAIN: too many processes; ENOMEM).
    /// `singleThreaded`: the caller knows this process has one thread (a pool's zygote), so its
    /// threads are neither counted nor waited for.
    /// - Cost: one `fork` (about 100 µs for a small program); from a program's thread, once the
    ///   program has had threads, a read of /proc/self/stat (about 10 µs) and the wait for the
    ///   runtime's threads to park (microseconds when they are idle or looping, at most
    ///   `ForkGate.patience`); plus the observer's work.
    static func fork(installExitHandler: Bool, singleThreaded: Bool = false) throws(SystemError) -> pid_t {
        try forkRecordingStart(installExitHandler: installExitHandler, singleThreaded: singleThreaded).pid
    }

    /// `fork(installExitHandler:singleThreaded:)`, and in the parent the child's start record when it
    /// has a start word (a `ChildProcess` child, which keeps the record itself).
    static func forkRecordingStart(
        installExitHandler: Bool, singleThreaded: Bool = false
    ) throws(SystemError) -> (pid: pid_t, start: StartWords.Record?) {
        Tracing.startIfAsked()  // before the fork: the child inherits the trace, never reads MP_TRACE
        let table = shared
        table.prepareToFork(installExitHandler: installExitHandler)
        // One thread (a zygote): no runtime thread to park.
        let passage = singleThreaded ? ForkGate.Passage.held : ForkGate.close()
        let otherThreads = ForkWarning.otherThreads(after: passage, singleThreaded: singleThreaded)
        let word = installExitHandler ? table.starts.reserve() : nil
        let pid: pid_t
        do throws(SystemError) {
            pid = try Sys.fork()
        } catch {
            ForkGate.reopen(after: passage)
            if let word { table.starts.release(word) }
            throw error
        }
        if pid == 0 {
            // One thread now; the gate is fresh (the C shim's atfork handler).
            ForkWarning.printed.store(false, ordering: .relaxed)
            StartWords.own = word
            return (0, nil)
        }
        ForkGate.reopen(after: passage)
        ForkWarning.forked(otherThreads: otherThreads)
        observer?.didFork(pid)
        return (pid, word.map { StartWords.Record(word: $0, otherThreads: otherThreads) })
    }
}
