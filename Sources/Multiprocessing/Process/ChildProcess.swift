// Process/: starting, watching and ending processes. Python's multiprocessing.Process on fork
// (ChildProcess, currentProcess, exitProcess, activeChildren), the bare fork and waitpid
// (ForkProcess.swift), what a process knows about itself and its children (ProcessTable.swift),
// the runtime's one fork path and its observer hook (ForkObserver.swift), forking beside threads
// (ForkSafety.swift: the warning, the start words), exit handlers and the parent as a child sees it
// (ExitHandlers.swift), the async join (ProcessAsync.swift), the child as a sentinel for waitForAny
// (ProcessWaitable.swift) and ProcessError.
// May depend on Platform only (and Async for the async join and waitForAny). Everything else that forks (the
// pool) goes through `ProcessTable.fork(installExitHandler:)`, so that every fork flushes stdio,
// installs the exit handling when asked, and is reported to the observer.

import Glibc

/// A child process that runs a closure (or an overridden ``run()``) and ends.
///
/// Create it, ``start()`` it, `join()` it. The child is a `fork` of the caller: it starts with a copy
/// of everything the parent had, and its changes stay its own. When the target returns the child
/// exits with status 0; when it throws, the child prints `Process <name>:` and the error on stderr
/// and exits with status 1. At exit, every process (the main program and every child) runs the
/// handlers it registered with ``atProcessExit(_:)``, terminates its living daemonic children and
/// then joins all its children. C `atexit` handlers do not run in a child (see ``atProcessExit(_:)``).
///
/// Threads in the child: a child ends when its target returns, without waiting for the threads it
/// started (CPython's child waits for its non-daemonic threads). Swift's threads have no daemonic
/// flag that would say which ones to wait for, and the child ends with `_exit`, which ends every
/// thread of the process at once, wherever it is. Join the threads you start before the target
/// returns (or register the join with ``atProcessExit(_:)``).
///
/// Ending: ``terminate()`` (SIGTERM), ``interrupt()`` (SIGINT) and ``kill()`` (SIGKILL) signal the
/// child; ``close()`` releases the object once the child has ended. The object is also a sentinel:
/// ``waitForAny(_:timeout:)`` waits for the first of several children (or connections, or queues)
/// to be ready, where a child is ready once it has ended. Inside a child, ``parentProcess()`` names
/// the process that started it and says whether it still runs.
///
/// Cost: `start()` is one `fork`; with `join()` and the child's own start and exit, about 150–250 µs of
/// CPU for a small program, about twice a C program's `fork`, `_exit` and `waitpid` (the kernel's work
/// grows with the program's mappings; `bench process_start_join`). A `pidfd_open` follows only at the
/// first timed join.
/// A `ChildProcess` is thread-safe; ``join(timeout:)-98o0p``, ``isAlive`` and ``exitCode`` may be called from any thread of
/// the process that started it.
///
/// Subclassing, as with Python's `class Worker(Process)`: override `run()`, and restate
/// `@unchecked Sendable` (`final class Worker: ChildProcess, @unchecked Sendable`). The compiler checks
/// nothing in a subclass, because an open class can only be `@unchecked Sendable`; keeping the promise
/// is the subclass's job. Every stored property it adds must be a `let` of a `Sendable` type, or be
/// guarded by a lock (such as `Synchronization.Mutex`), since other threads may use the object. A
/// property that `run()` changes changes only the child's copy: send results back through a ``Queue``,
/// a ``Connection`` or shared memory instead.
///
/// Concurrency in the child: `fork` copies only the thread that called it. Dispatch queues and Swift
/// concurrency (tasks, `async`/`await`, actors) that the parent had started before the fork run on
/// threads that do not exist in the child, and their locks may have been held by those threads: a
/// child that uses them can hang. So a child uses plain code and pthreads, never Dispatch or Swift
/// concurrency inherited from the parent. The async forms (`try await child.join()`,
/// `try await queue.get()`, `try await connection.receive()`, ...) are for the parent's side; a child
/// uses the blocking forms (a child that reaches an async form stops with a precondition failure).
///
/// Forking beside threads: a lock that another thread of the parent held at the instant of the fork
/// stays locked in the child for ever, as no thread there will release it: the Swift runtime's own
/// (held while a thread instantiates a generic type for the first time), malloc's, Dispatch's, the
/// program's. A child that needs it hangs, often before it runs a line of its target. The runtime's
/// own threads (a pool's, the async forms') never cause this: every fork waits until they are
/// parked in a system call. The program's own threads can, so:
/// - start children before starting threads, or use a ``Pool``, whose workers are forked by a
///   single-threaded helper process;
/// - the first fork beside threads prints a warning on stderr, once per process, as Python 3.12
///   does (``forkWarningEnabled``, or `MP_FORK_WARNING=0`, silences it);
/// - a child whose ``join(timeout:)-98o0p`` keeps returning false says where it stands: ``hasStartedRunning``
///   is false while it has not reached its target, and ``diagnosis`` says so in a sentence.
/// Python 3.14 stopped forking by default on Linux for this reason (its default became
/// `forkserver`); this library starts every child with `fork`.
open class ChildProcess: @unchecked Sendable {
    private enum State {
        case created
        case starting
        /// `pidfd` lets a timed join wait for the child without a pid-reuse race. Opened at the
        /// first timed join (the pid stays ours until we reap it); nil until then, or without pidfds.
        case running(pid: pid_t, pidfd: Int32?)
        /// `status` is nil when someone else reaped the child (a stray `waitpid(-1)`).
        case ended(pid: pid_t, status: ExitStatus?)
        /// After `close()`: what was known then (nil pid: never started), and nothing held.
        case closed(pid: pid_t?, status: ExitStatus?)
    }

    /// The process's name: `Process-N` by default (`Process-1:2` for a child's second child),
    /// `MainProcess` for the main program.
    public let name: String
    /// Under `mutex`; `close()` lets go of it (and of what it captured).
    private var target: (() throws -> Void)?
    private let identity: [Int]
    /// The pid of the process that created this object: only it may start, join or reap the child.
    private let ownerPid: pid_t
    private let mutex = LocalMutex()
    private var state: State
    private var daemonic: Bool
    private var pidfdAllowed = true
    /// Under `mutex`: the child's start word and the threads beside the fork (`hasStartedRunning`,
    /// `diagnosis`), from the fork until the child is reaped.
    private var startRecordStorage: StartWords.Record?

    /// The start record, nil before the start and after the reaping.
    var startRecord: StartWords.Record? { mutex.withLock { startRecordStorage } }

    /// Creates a process that will run `target` (or ``run()``, if a subclass overrides it).
    /// Python's `Process(name, target, daemon)`.
    ///
    /// - Parameters:
    ///   - name: the name shown in errors and by `currentProcess().name`; default `Process-N`.
    ///   - daemon: a daemonic child is terminated when its parent exits, and is killed even when the
    ///     parent is killed. A daemonic process may not start children.
    ///   - target: the work to do in the child. It runs in another process: what it changes is not
    ///     seen by the parent.
    public init(name: String? = nil, daemon: Bool = false, target: (() throws -> Void)? = nil) {
        Tracing.startIfAsked()
        let identity = ProcessTable.shared.nextChildIdentity()
        self.identity = identity
        self.name = name ?? "Process-" + identity.map(String.init).joined(separator: ":")
        self.daemonic = daemon
        self.target = target
        self.ownerPid = ProcessTable.shared.pid
        self.state = .created
    }

    /// The object that stands for the main program (or for a child made by `forkProcess()`).
    init(mainProcessWithPid pid: pid_t) {
        self.identity = []
        self.name = "MainProcess"
        self.daemonic = false
        self.target = nil
        self.ownerPid = getppid()
        self.state = .running(pid: pid, pidfd: nil)
    }

    /// The object that stands for a pool's zygote or worker inside that process (`currentProcess()`):
    /// daemonic, like Python's pool workers, so it may not start children. Touches no lock: it is
    /// made right after a fork from a thread other than the one that may hold the table's lock.
    init(poolProcessNamed name: String, pid: pid_t) {
        self.identity = []
        self.name = name
        self.daemonic = true
        self.target = nil
        self.ownerPid = getppid()
        self.state = .running(pid: pid, pidfd: nil)
    }

    deinit {
        if case .running(_, let pidfd?) = state { Sys.close(pidfd) }
    }

    /// The work the child does. The default calls the `target` given to ``init(name:daemon:target:)``;
    /// subclasses override it. Throwing makes the child print the error and exit with status 1.
    /// Python's `Process.run()`.
    open func run() throws {
        try mutex.withLock { target }?()
    }

    /// Whether the process is daemonic (see ``init(name:daemon:target:)``). Change it with
    /// ``setDaemon(_:)`` before ``start()``. Python's `Process.daemon`.
    public var isDaemon: Bool {
        mutex.withLock { daemonic }
    }

    /// Makes the process daemonic or not. Python's `Process.daemon = daemon`.
    /// - Throws: ``ProcessError/daemonAfterStart(name:)`` once the process has been started.
    public func setDaemon(_ daemon: Bool) throws(ProcessError) {
        try mutex.withLock { () throws(ProcessError) in
            if case .closed = state { throw .closed(name: name, operation: .setDaemon) }
            guard case .created = state else { throw .daemonAfterStart(name: name) }
            daemonic = daemon
        }
    }

    /// Whether a timed join may wait on a pidfd (true by default). Tests turn it off, before
    /// ``start()``, to exercise the path for kernels without pidfds: a join then polls `waitpid`.
    package var usesPidfd: Bool {
        get { mutex.withLock { pidfdAllowed } }
        set { mutex.withLock { pidfdAllowed = newValue } }
    }

    /// The child's pid; nil before ``start()``. Python's `Process.pid`.
    public var pid: pid_t? {
        mutex.withLock {
            switch state {
            case .created, .starting: return nil
            case .running(let pid, _), .ended(let pid, _): return pid
            case .closed(let pid, _): return pid
            }
        }
    }

    /// How the child ended: `.exited(code)` or `.signaled(signal)`; nil while it runs, before
    /// ``start()``, or when something else reaped it (a stray `waitpid(-1)`). Reading it reaps an
    /// ended child. ``exitCode`` is the same fact as one number, as Python shows it.
    public var exitStatus: ExitStatus? {
        _ = isAlive
        return mutex.withLock {
            switch state {
            case .ended(_, let status), .closed(_, let status): return status
            default: return nil
            }
        }
    }

    /// The child's exit code (Python's `exitcode`): nil while it runs (or before start); its exit status once it has
    /// ended; −N if signal N killed it. Reading it reaps an ended child.
    public var exitCode: Int32? {
        exitStatus?.exitCode
    }

    /// True from ``start()`` until the child ends. Reaps an ended child, so no zombie remains.
    /// Asked from a process other than the one that started it, it checks that the pid exists.
    /// Python's `Process.is_alive()`.
    public var isAlive: Bool {
        mutex.withLock {
            guard case .running(let pid, _) = state else { return false }
            if self === ProcessTable.shared.current { return true }
            guard ownerPid == ProcessTable.shared.pid else { return Sys.processExists(pid) }
            return (try? reapIfEnded()) != true
        }
    }

    /// Starts the child: flushes stdio, forks, and runs ``run()`` in the child. Python's `Process.start()`.
    ///
    /// - Throws: ``ProcessError/alreadyStarted(name:)`` on a second call;
    ///   `.daemonicProcessCannotStartChildren` inside a daemonic process;
    ///   `.notOwnedByThisProcess` when the object was created by another process;
    ///   `.system` when fork fails (EAGAIN: too many processes; ENOMEM).
    public final func start() throws(ProcessError) {
        let table = ProcessTable.shared
        try mutex.withLock { () throws(ProcessError) in
            if case .closed = state { throw .closed(name: name, operation: .start) }
            guard case .created = state else { throw .alreadyStarted(name: name) }
            guard ownerPid == table.pid else { throw .notOwnedByThisProcess(name: name, operation: .start) }
            if table.current.isDaemon { throw .daemonicProcessCannotStartChildren(name: table.current.name) }
            state = .starting
        }
        // Known before fork: in the child, getppid() already names the adopter if we die at once.
        let parentPid = table.pid
        let parent = ParentProcess(name: table.current.name, pid: parentPid)
        let forked: (pid: pid_t, start: StartWords.Record?)
        do throws(SystemError) {
            forked = try ProcessTable.forkRecordingStart(installExitHandler: true)
        } catch {
            mutex.withLock { state = .created }
            throw .system(error)
        }
        if forked.pid == 0 { runAsChild(parent: parent) }
        mutex.withLock {
            state = .running(pid: forked.pid, pidfd: nil)
            startRecordStorage = forked.start
        }
        table.register(self)
    }

    /// The child's side of `start()`. Never returns.
    private func runAsChild(parent: ParentProcess) -> Never {
        let pid = Sys.processID  // refreshed by the fork's child handler: no second getpid
        let parentPid = parent.pid
        mutex.reinitializeInChild()
        state = .running(pid: pid, pidfd: nil)
        ProcessTable.shared.becomeChild(pid: pid, current: self, identity: identity, parent: parent)
        if daemonic {
            // Die with the parent even when it is SIGKILLed. The kernel signals when the *thread*
            // that forked ends, so start daemons from a thread that lives as long as the program.
            Sys.setParentDeathSignal(SIGKILL)
            if getppid() != parentPid { try? Sys.signal(pid, SIGKILL) }  // The parent died before prctl.
        }
        Sys.redirectStdinToDevNull()
        var status: Int32 = 0
        do {
            try run()
        } catch {
            Sys.flushStdio()  // What the child printed comes before its error, as in a terminal.
            Sys.writeAll("Process \(name):\n\(error)\n", to: 2)
            status = 1
        }
        exitProcess(status)
    }

    /// Waits until the child ends, or until `timeout` has passed (nil waits for ever; zero or
    /// negative checks once). Python's `Process.join(timeout)`, which returns `None` either way;
    /// this one says which: true when the child has ended (and been reaped), false when the timeout
    /// passed first. Signals do not cut the wait short.
    ///
    /// - Returns: whether the child has ended.
    /// - Throws: ``ProcessError/notStarted(name:operation:)`` before ``start()``;
    ///   `.cannotJoinCurrentProcess`;
    ///   `.notOwnedByThisProcess` from a process that did not start it; `.system` if waiting fails.
    /// - Cost: with a timeout, one `pidfd_open` at the first timed join and a `poll` per call;
    ///   without, a `waitid` until it ends and a `waitpid` to reap it. Blocks the calling thread:
    ///   from async code, `try await join(timeout:)` (the async overload) waits without blocking one.
    @discardableResult
    public func join(timeout: Duration? = nil) throws(ProcessError) -> Bool {
        guard Trace.isOn, let pid, isAlive else { return try joinUntraced(timeout: timeout) }
        let id = UInt64(UInt32(bitPattern: pid))
        Trace.record(.process, .waiting, id)
        let ended = try joinUntraced(timeout: timeout)
        Trace.record(.process, ended ? .joined : .timedOut, id)
        return ended
    }

    private func joinUntraced(timeout: Duration?) throws(ProcessError) -> Bool {
        let deadline = Deadline(timeout: timeout).instant
        if self === ProcessTable.shared.current { throw .cannotJoinCurrentProcess }
        var backoff = Duration.microseconds(50)
        // An untimed join waits first and reaps after: a child just started has rarely ended yet,
        // so a first `waitpid(WNOHANG)` would be a system call for nothing.
        var waited = deadline != nil
        while true {
            switch try nextWaitStep(timed: deadline != nil, reapFirst: waited) {
            case .ended:
                return true
            case .waitUntilEnded(let pid):
                try ProcessError.wrapping { () throws(SystemError) in try Sys.waitUntilEnded(pid) }
                waited = true
            case .waitOn(let waitFd):
                defer { Sys.close(waitFd) }
                let ended = try ProcessError.wrapping { () throws(SystemError) in
                    try Sys.waitReadable(waitFd, deadline: deadline)
                }
                if !ended { return false }
            case .pollWithoutPidfd:
                // No pidfd: poll waitpid with a growing pause, capped so a join still returns promptly.
                if let deadline, ContinuousClock.now >= deadline { return false }
                var pause = backoff
                if let deadline { pause = min(pause, ContinuousClock.now.duration(to: deadline)) }
                Sys.sleep(for: pause)
                backoff = min(backoff * 2, .milliseconds(10))
            }
        }
    }

    enum WaitStep {
        case ended
        /// Block without a timeout until the child ends, without reaping it (reaping takes the lock).
        case waitUntilEnded(pid_t)
        /// A private duplicate of the pidfd: another thread may reap the child and close the original.
        case waitOn(Int32)
        case pollWithoutPidfd
    }

    /// One step of `join`: reap the child if it has ended, otherwise say how to wait for it.
    /// `reapFirst` false (untimed only): say how to wait without trying to reap first.
    func nextWaitStep(
        timed: Bool, operation: ProcessOperation = .join, reapFirst: Bool = true
    ) throws(ProcessError) -> WaitStep {
        try mutex.withLock { () throws(ProcessError) -> WaitStep in
            switch state {
            case .created, .starting:
                throw .notStarted(name: name, operation: operation)
            case .closed:
                throw .closed(name: name, operation: operation)
            case .ended:
                return .ended
            case .running(let pid, var pidfd):
                guard ownerPid == ProcessTable.shared.pid else {
                    throw .notOwnedByThisProcess(name: name, operation: operation)
                }
                if reapFirst || timed,
                    try ProcessError.wrapping({ () throws(SystemError) in try reapIfEnded() })
                {
                    return .ended
                }
                if !timed { return .waitUntilEnded(pid) }
                if pidfd == nil && pidfdAllowed {
                    pidfd = Sys.pidfd(for: pid)
                    state = .running(pid: pid, pidfd: pidfd)
                }
                if let pidfd, let copy = Sys.duplicate(pidfd) { return .waitOn(copy) }
                return .pollWithoutPidfd
            }
        }
    }

    /// Sends SIGTERM to the child. A child that has already ended is not an error. Python's `Process.terminate()`.
    /// - Throws: ``ProcessError/notStarted(name:operation:)`` before ``start()``.
    public func terminate() throws(ProcessError) {
        try send(SIGTERM, operation: .terminate)
    }

    /// Sends SIGKILL to the child, which cannot catch it. A child that has already ended is not an error.
    /// Python's `Process.kill()`.
    /// - Throws: ``ProcessError/notStarted(name:operation:)`` before ``start()``.
    public func kill() throws(ProcessError) {
        try send(SIGKILL, operation: .kill)
    }

    /// Sends SIGINT to the child, as Ctrl-C in a terminal would: Python's `Process.interrupt()` (3.14).
    /// A child that does not handle SIGINT ends at once with exit code −2 (−SIGINT); one that installed
    /// a handler decides for itself. (A child that inherited SIGINT ignored, as a background job of a
    /// non-interactive shell does, ignores it.) A child that has already ended is not an error.
    /// - Throws: ``ProcessError/notStarted(name:operation:)`` before ``start()``; `.closed` after
    ///   ``close()``; `.system` if the signal cannot be sent.
    /// - Cost: one `kill(pid, SIGINT)` system call.
    public func interrupt() throws(ProcessError) {
        try send(SIGINT, operation: .interrupt)
    }

    /// Releases what this object holds once the child has ended: the `target` closure and what it
    /// captured (and a pidfd, in a process that inherited the object). Python's `Process.close()`.
    /// Afterwards every call that can throw (``start()``, ``join(timeout:)-98o0p``, ``terminate()``,
    /// ``kill()``, ``interrupt()``, ``setDaemon(_:)``, ``waitForAny(_:timeout:)``) throws
    /// ``ProcessError/closed(name:operation:)``; the properties keep what was known at the close
    /// (``pid``, ``exitStatus``, ``exitCode``; ``isAlive`` is false), where Python raises instead.
    /// Closing twice, or closing a process that was never started, is allowed.
    /// - Throws: ``ProcessError/stillRunning(name:)`` while the child runs (join or terminate it
    ///   first; an ended child is reaped here); `.system` if reaping fails.
    /// - Cost: a `waitpid` with WNOHANG, and a `close` if a pidfd was open.
    public func close() throws(ProcessError) {
        let released = try mutex.withLock { () throws(ProcessError) -> (() throws -> Void)? in
            switch state {
            case .closed:
                return nil
            case .starting:
                throw .stillRunning(name: name)
            case .running(let pid, _):
                if ownerPid == ProcessTable.shared.pid {
                    let ended = try ProcessError.wrapping { () throws(SystemError) in try reapIfEnded() }
                    if !ended { throw .stillRunning(name: name) }
                } else if self === ProcessTable.shared.current || Sys.processExists(pid) {
                    throw .stillRunning(name: name)
                }
            case .created, .ended:
                break
            }
            switch state {
            case .created: state = .closed(pid: nil, status: nil)
            case .ended(let pid, let status): state = .closed(pid: pid, status: status)
            // Another process's child (a copy inherited by fork) that has ended: its pidfd copy goes.
            case .running(let pid, let pidfd):
                if let pidfd { Sys.close(pidfd) }
                state = .closed(pid: pid, status: nil)
            case .starting, .closed: break
            }
            defer { target = nil }
            return target
        }
        _ = released  // released here, outside the lock: its captures' deinits may take locks of their own
    }

    private func send(_ signal: Int32, operation: ProcessOperation) throws(ProcessError) {
        try mutex.withLock { () throws(ProcessError) in
            switch state {
            case .created, .starting:
                throw .notStarted(name: name, operation: operation)
            case .closed:
                throw .closed(name: name, operation: operation)
            case .ended:
                return
            case .running(let pid, _):
                // Safe from pid reuse: an unreaped child keeps its pid, and reaping takes this lock.
                try ProcessError.wrapping { () throws(SystemError) in try Sys.signal(pid, signal) }
            }
        }
    }

    /// With `mutex` held: reaps the child if it has ended. True once it has.
    private func reapIfEnded() throws(SystemError) -> Bool {
        guard case .running(let pid, let pidfd) = state else { return true }
        let status: ExitStatus?
        do throws(SystemError) {
            guard let ended = try Sys.reapIfEnded(pid) else { return false }
            status = ended
        } catch  where error.errno == ECHILD {
            status = nil  // Reaped by someone else: it has ended, but its status is lost.
        }
        if let pidfd { Sys.close(pidfd) }
        state = .ended(pid: pid, status: status)
        if let record = startRecordStorage {
            ProcessTable.shared.starts.release(record.word)
            startRecordStorage = nil
        }
        Trace.recordExit(of: pid, status)
        ProcessTable.shared.unregister(self)
        return true
    }

}

/// The object that stands for the calling process: `MainProcess` in the main program, the child's
/// own ``ChildProcess`` inside a child. Python's `multiprocessing.current_process()`.
public func currentProcess() -> ChildProcess {
    ProcessTable.shared.current
}

/// Ends the calling process, like Python's `sys.exit(status)` in a child: runs the exit handling
/// (the handlers registered with ``atProcessExit(_:)``, last first; terminates daemonic children,
/// joins all children), flushes stdio, then `_exit(status)`. Unlike `exit(3)`, it runs no C
/// `atexit` handler, so none inherited from the parent runs twice (see ``atProcessExit(_:)``).
public func exitProcess(_ status: Int32) -> Never {
    ProcessTable.shared.runExitHandling()
    Trace.record(.process, .exiting, UInt64(UInt32(bitPattern: ProcessTable.shared.pid)), status)
    Sys.flushStdio()
    Sys.exitImmediately(status)
}

/// The living children of the calling process. Reaps the ones that have ended (no zombies remain).
/// Python's `multiprocessing.active_children()`.
public func activeChildren() -> [ChildProcess] {
    ProcessTable.shared.unreapedChildren.filter { $0.isAlive }
}

/// The number of CPUs this process may run on (its affinity mask), at least 1. Python's `os.process_cpu_count()`.
public func cpuCount() -> Int {
    Sys.cpuCount()
}
