// What one process knows about itself and about the children it started.
// Every forked child gets a fresh table: the parent's children are not its children.

import Glibc
import Synchronization

package final class ProcessTable: @unchecked Sendable {
    /// This process's table. Replaced only in a freshly forked child, which has one thread.
    /// Unchecked: read on every start and join, and a checked access writes the thread's access set,
    /// a page each fork shares with the child (a copy-on-write fault per start in each process).
    @exclusivity(unchecked) nonisolated(unsafe) static var shared = ProcessTable(pid: getpid(), identity: [])

    /// Set once atexit has our handler. Memory is copied by fork, and so is the atexit list.
    private static let exitHookInstalled = Atomic<Bool>(false)

    private let mutex = LocalMutex()
    /// This process's pid, read once (glibc no longer caches getpid, and it is asked often).
    let pid: pid_t
    let current: ChildProcess
    /// This process's place in the tree: [] for the main process, [1] for Process-1, [1, 2] for Process-1:2.
    let identity: [Int]
    private var lastChildNumber = 0
    /// Children started by this process and not yet reaped.
    private var children: [ChildProcess] = []
    /// Under `mutex`: made at this process's first start, not in every child (most start none).
    private var startWords: StartWords?

    /// The pages of the children's start words (see `StartWords`); each child keeps its own record.
    var starts: StartWords {
        mutex.withLock {
            if let startWords { return startWords }
            let made = StartWords()
            startWords = made
            return made
        }
    }
    private var exitHandlingDone = false
    /// Registered by `atProcessExit` in this process (ExitHandlers.swift); a child starts with none.
    private var exitHandlers: [@Sendable () throws -> Void] = []
    /// The process that started this one (`parentProcess()`); nil in the main program.
    let parent: ParentProcess?
    private init(pid: pid_t, identity: [Int], current: ChildProcess? = nil, parent: ParentProcess? = nil) {
        self.pid = pid
        self.current = current ?? ChildProcess(mainProcessWithPid: pid)
        self.identity = identity
        self.parent = parent
    }

    /// The identity for the next child's default name (`Process-1`, `Process-1:2`, ...).
    func nextChildIdentity() -> [Int] {
        mutex.withLock {
            lastChildNumber += 1
            return identity + [lastChildNumber]
        }
    }

    /// Everything a fork needs first: the exit handler installed (if asked), stdio flushed.
    /// Part of `ProcessTable.fork(installExitHandler:)`, the one way the runtime forks; call that instead.
    func prepareToFork(installExitHandler: Bool) {
        if installExitHandler { Self.installExitHook() }
        Sys.flushStdio()
    }

    /// Makes the C library's `exit` (the main program's return from `main`) run `runExitHandling`.
    /// Once per program: a fork copies both the flag and the C `atexit` list.
    static func installExitHook() {
        // Atomic: `atProcessExit` may be called from any thread.
        guard exitHookInstalled.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged
        else { return }
        atexit { ProcessTable.shared.runExitHandling() }
    }

    /// In the child, right after fork: a fresh table, with `current` as this process
    /// (nil: a fresh `MainProcess`, for `forkProcess()`) and `parent` as the one that started it.
    /// A `ChildProcess` child sets its start word here: it is about to call `run()`.
    func becomeChild(pid: pid_t, current: ChildProcess?, identity: [Int], parent: ParentProcess? = nil) {
        ProcessTable.shared = ProcessTable(pid: pid, identity: identity, current: current, parent: parent)
        StartWords.markRunning()
        Trace.recordStart(pid: pid, name: ProcessTable.shared.current.name)
    }

    /// Called by `ChildProcess.start` on the thread that forked the child, right after the fork.
    func register(_ child: ChildProcess) {
        mutex.withLock { children.append(child) }
    }

    func unregister(_ child: ChildProcess) {
        mutex.withLock { children.removeAll { $0 === child } }
    }

    func addExitHandler(_ handler: @escaping @Sendable () throws -> Void) {
        mutex.withLock { exitHandlers.append(handler) }
    }

    /// The handler registered last and not yet run (a handler may register another: it runs too).
    func takeLastExitHandler() -> (@Sendable () throws -> Void)? {
        mutex.withLock { exitHandlers.popLast() }
    }

    var unreapedChildren: [ChildProcess] {
        mutex.withLock { children }
    }

    /// The children this process started and has not reaped yet (ended or not), without reaping
    /// any: what the tests' leftover check compares. `activeChildren()` reaps, so it cannot tell.
    package static var unreapedChildren: [ChildProcess] {
        shared.unreapedChildren
    }

    /// At normal exit of any process: run its exit handlers (last registered first), terminate
    /// living daemonic children, then join every child. Runs once; later calls return at once.
    func runExitHandling() {
        let alreadyDone = mutex.withLock {
            defer { exitHandlingDone = true }
            return exitHandlingDone
        }
        if alreadyDone { return }
        runExitHandlers()
        let children = unreapedChildren
        for child in children where child.isDaemon && child.isAlive {
            try? child.terminate()
        }
        for child in children {
            _ = try? child.join()
        }
        Tracing.finishAtExit()
    }
}
