// Processes: how a child ended, fork and immediate exit, waiting for and reaping children (pidfds
// where the kernel has them), whether a thread or process is gone, and the CPU count.

import CMultiprocessingShims
import Glibc

/// How a child process ended, decoded from a wait status.
public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
    /// The process returned or called `exit` with this status (0–255).
    case exited(Int32)
    /// The process was killed by this signal number.
    case signaled(Int32)

    init(waitStatus: Int32) {
        if mp_wifsignaled(waitStatus) != 0 {
            self = .signaled(mp_wtermsig(waitStatus))
        } else {
            self = .exited(mp_wexitstatus(waitStatus))
        }
    }

    /// Python's convention: the exit status, or −N for death by signal N.
    public var exitCode: Int32 {
        switch self {
        case .exited(let status): return status
        case .signaled(let signal): return -signal
        }
    }

    public var description: String {
        switch self {
        case .exited(let status): return "exited with status \(status)"
        case .signaled(let signal): return "killed by signal \(signal) (\(signalName(signal)))"
        }
    }
}

extension Sys {
    static func fork() throws(SystemError) -> pid_t {
        let pid = Glibc.fork()
        if pid < 0 { throw SystemError("fork", errno: mp_errno()) }
        return pid
    }

    /// Ends this process at once: no atexit handlers, no stdio flush (callers flush first).
    /// `_exit`, called without binding it lazily in each child (see mp_exit_now).
    static func exitImmediately(_ status: Int32) -> Never {
        mp_exit_now(status)
    }

    /// `waitpid(pid, WNOHANG)`: the status if the child has ended and is now reaped, nil if it runs.
    static func reapIfEnded(_ pid: pid_t) throws(SystemError) -> ExitStatus? {
        var status: Int32 = 0
        let result = try retrying("waitpid") { waitpid(pid, &status, WNOHANG) }
        return result == 0 ? nil : ExitStatus(waitStatus: status)
    }

    /// `waitpid(pid, 0)`: blocks until the child ends, then reaps it.
    static func reap(_ pid: pid_t) throws(SystemError) -> ExitStatus {
        var status: Int32 = 0
        try retrying("waitpid") { waitpid(pid, &status, 0) }
        return ExitStatus(waitStatus: status)
    }

    /// `waitpid(-1, WNOHANG)`: one ended child, reaped, or nil when none has ended (or none exists).
    static func reapAnyChild() -> (pid: pid_t, status: ExitStatus)? {
        var status: Int32 = 0
        guard let pid = try? retrying("waitpid", { waitpid(-1, &status, WNOHANG) }), pid > 0 else { return nil }
        return (pid, ExitStatus(waitStatus: status))
    }

    /// Waits up to the deadline for a child to end and reaps it; nil if it still runs then.
    static func reap(_ pid: pid_t, deadline: ContinuousClock.Instant) throws(SystemError) -> ExitStatus? {
        if let fd = pidfd(for: pid) {
            defer { close(fd) }
            _ = try waitReadable(fd, deadline: deadline)
            return try reapIfEnded(pid)
        }
        var pause = Duration.microseconds(50)
        while true {
            if let status = try reapIfEnded(pid) { return status }
            if ContinuousClock.now >= deadline { return nil }
            sleep(for: pause)
            pause = min(pause * 2, .milliseconds(5))
        }
    }

    /// Blocks until the child has ended, without reaping it (waitid with WNOWAIT), so that the
    /// reaping can happen under a lock. ECHILD (already reaped) returns at once.
    static func waitUntilEnded(_ pid: pid_t) throws(SystemError) {
        var info = siginfo_t()
        do throws(SystemError) {
            try retrying("waitid") { waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) }
        } catch {
            if error.errno != ECHILD { throw error }
        }
    }

    /// A pidfd for a child, or nil where the kernel has none (then callers poll `waitpid`).
    static func pidfd(for pid: pid_t) -> Int32? {
        let fd = mp_pidfd_open(pid)
        return fd >= 0 ? fd : nil
    }

    /// True when the thread (or process) with this id has ended: it no longer exists, or it is a
    /// zombie that nobody has reaped yet. A live or stopped thread is not gone. Costs a `kill(0)`
    /// and, while the id exists, one read of /proc/<id>/stat (about 10 µs).
    static func threadIsGone(_ tid: pid_t) -> Bool {
        guard tid > 0 else { return true }
        if Glibc.kill(tid, 0) != 0 && mp_errno() == ESRCH { return true }
        // kill(0) succeeds on a zombie: /proc tells. Unreadable /proc: assume it lives.
        let fd = open("/proc/\(tid)/stat", O_RDONLY | O_CLOEXEC)
        if fd < 0 { return mp_errno() == ENOENT }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return false }
        // "tid (command) S ...": the state follows the last ')'.
        guard let close = buffer[..<count].lastIndex(of: UInt8(ascii: ")")), close + 2 < count else { return false }
        let state = buffer[close + 2]
        return state == UInt8(ascii: "Z") || state == UInt8(ascii: "X")
    }

    static func cpuCount() -> Int {
        let affinity = mp_affinity_cpu_count()
        if affinity > 0 { return Int(affinity) }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
