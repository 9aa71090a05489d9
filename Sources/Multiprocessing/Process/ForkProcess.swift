// forkProcess and waitForProcess: the bare fork and waitpid under every ChildProcess, for programs
// that want the system calls themselves (Python's os.fork and os.waitpid).

import Glibc

/// Which side of a fork the caller is on.
public enum ForkResult: Equatable, Sendable {
    /// In the new process. Its ``currentProcess()`` is a fresh `MainProcess` with its own pid.
    case child
    /// In the original process; the new process has this pid.
    case parent(childPid: pid_t)
}

/// Forks the calling process: `fork()` returns twice, once in each process.
///
/// Flushes stdio first, so that text buffered before the fork is not printed twice. The child
/// starts with no children of its own and should end with ``exitProcess(_:)``. The parent must
/// reap the child with ``waitForProcess(_:)``, or it stays a zombie. Prefer ``ChildProcess``, which does
/// all of this for you.
///
/// The child has one thread, the caller: a lock another thread held at the instant of the fork
/// stays locked in it for ever (see ``ChildProcess``, "Forking beside threads"). So the fork waits
/// until the runtime's own threads (a pool's, the async forms') are parked, and the first fork beside
/// threads of the program's own prints a warning on stderr, once per process (Python 3.12's
/// `os.fork` does the same; ``ChildProcess/forkWarningEnabled`` or `MP_FORK_WARNING=0` silences it).
///
/// - Throws: ``SystemError`` when fork fails (EAGAIN: too many processes; ENOMEM).
/// - Cost: one `fork` system call (about 100 µs for a small program), plus, from a program's thread
///   once the program has had a second thread, counting the threads (a read of /proc/self/stat,
///   about 10 µs).
public func forkProcess() throws(SystemError) -> ForkResult {
    let table = ProcessTable.shared
    let pid = try ProcessTable.fork(installExitHandler: false)
    if pid == 0 {
        table.becomeChild(pid: getpid(), current: nil, identity: [])
        return .child
    }
    return .parent(childPid: pid)
}

/// Waits for a child made by ``forkProcess()`` to end, reaps it, and decodes how it ended.
/// - Throws: ``SystemError`` (ECHILD when `pid` is not an unreaped child of this process).
public func waitForProcess(_ pid: pid_t) throws(SystemError) -> ExitStatus {
    let status = try Sys.reap(pid)
    Trace.recordExit(of: pid, status)
    return status
}
