// The runtime's own exit handlers (atProcessExit) and the parent a child knows (parentProcess).
// Both live in the process's `ProcessTable`, which every forked child gets fresh: a child starts
// with no exit handlers and with its parent's name and pid.

import Glibc

/// Registers `handler` to run when the calling process ends normally: Python's `atexit.register`,
/// as CPython's `multiprocessing` runs it in a child (since Python 3.8, gh-83856).
///
/// Handlers run in the process that registered them, last registered first, when it ends normally:
/// the main program when it returns from its top level or calls ``exitProcess(_:)``; a child when
/// its target (or ``ChildProcess/run()``) returns or throws, or when it calls ``exitProcess(_:)``.
/// They run before the process terminates its daemonic children and joins the others, so a handler
/// can still tell its children to stop. A child never runs its parent's handlers: it starts with an
/// empty list. A handler that throws has its error printed on standard error (`Exit handler failed
/// in <name>:` and the error); the others still run, and the exit status does not change. Nothing
/// runs when a signal ends the process (`terminate()`, `kill()`, `interrupt()` not handled) or when
/// it calls `_exit` itself.
///
/// The C library's `atexit` handlers are another list, which `fork` copies: a child ends with
/// `_exit`, so it runs none of them, neither those it inherited (they belong to the parent, which
/// runs them itself; a child running them too would flush or delete the parent's things twice)
/// nor those it registered itself (the C list cannot tell the two apart). Register a child's
/// exit work here instead.
///
/// Any thread may register a handler; it runs on the thread that ends the process.
///
/// - Cost: an append under a lock; the first registration in a program also registers the
///   runtime's own `atexit` hook, which runs this list when the main program ends.
public func atProcessExit(_ handler: @escaping @Sendable () throws -> Void) {
    ProcessTable.installExitHook()
    ProcessTable.shared.addExitHandler(handler)
}

extension ProcessTable {
    /// Runs the exit handlers, last registered first, each exactly once. An error is printed and
    /// the next handler runs.
    func runExitHandlers() {
        while let handler = takeLastExitHandler() {
            do {
                try handler()
            } catch {
                Sys.flushStdio()  // what the handler printed comes before its error
                Sys.writeAll("Exit handler failed in \(current.name):\n\(error)\n", to: 2)
            }
        }
    }
}

/// The process that started the calling one, as seen from inside it: Python's
/// `multiprocessing.parent_process()` (3.8). Returned by ``parentProcess()``.
public struct ParentProcess: Equatable, Sendable {
    /// The parent's name (`MainProcess`, `Process-1`, ...) when it started this process.
    public let name: String
    /// The parent's pid.
    public let pid: pid_t

    /// Whether the parent still runs. Once it has ended, the kernel gives this process a new
    /// parent (init or a subreaper), so the parent pid it reports changes for good: the answer
    /// cannot be fooled by another process reusing the pid. Python's `is_alive()` on the parent.
    /// - Cost: one `getppid` system call.
    public var isAlive: Bool { getppid() == pid }
}

/// The process that started the calling one, in a child started by ``ChildProcess/start()``; nil in
/// the main program (and in a child made by ``forkProcess()``, whose runtime state is a fresh main
/// program's). Python's `multiprocessing.parent_process()`.
/// - Cost: a read of this process's table; no system call.
public func parentProcess() -> ParentProcess? {
    ProcessTable.shared.parent
}
