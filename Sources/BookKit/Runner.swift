import BookProtocol
import CMultiprocessingShims
import Glibc

/// What a hermetic run produced.
public struct RunResult: Sendable {
    /// How the run ended.
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        /// Killed (with its whole process group) at the time limit.
        case timedOut(seconds: Double)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "was killed by signal \(signal) (\(signalName(signal)))"
            case .timedOut(let seconds): return "timed out after \(formatSeconds(seconds)) s"
            }
        }
    }

    /// Standard output (with standard error in it when merged), decoded as UTF-8.
    public let stdout: String
    /// Standard error when captured separately; empty when merged.
    public let stderr: String
    public let termination: Termination
    /// Every process id the run's runtime logged (its own and all it forked), in log order.
    public let pids: [Int32]
    /// A process outside the group kept the output pipes open past the drain time limit.
    public let outputHeldOpen: Bool
    /// Output past the size limit was dropped.
    public let truncated: Bool
    /// The process group id (= the pid of the started binary).
    public let processGroup: Int32
    /// Processes of the group still running (not zombies) when the binary ended: what it left
    /// behind. They are killed with the group; this says they were there.
    public let leftovers: [Int32]

    /// Exit status 0, no time-out, all output read.
    public var succeeded: Bool {
        termination == .exited(0) && !outputHeldOpen && !truncated
    }
}

/// Runs a chapter binary hermetically: `posix_spawn` in a new process group, stdin from
/// /dev/null, a reset environment, stdout and stderr captured through pipes read with `poll`,
/// a hard time limit, and the whole group killed when the binary ends.
///
/// This is the only part of BookKit that starts or signals processes. A run costs the binary's
/// own time plus at most `drainTimeout` seconds when a descendant escapes the group and keeps
/// the output open.
public struct Runner: Sendable {
    /// `MP_TIME_SCALE` for the runs (shortens the demos' sleeps).
    public var timeScale = "0.05"
    /// How long to keep reading after the group is killed, for output still held open by a
    /// process that left the group.
    public var drainTimeout: Double = 3
    /// The most bytes kept per stream; more is read and dropped, and the run fails.
    public var maxOutputBytes = 16 << 20

    /// A runner with the defaults above.
    public init() {}

    /// Runs `executable` with `arguments` and returns what it printed and how it ended.
    ///
    /// The environment holds only PATH, HOME (if set), LC_ALL=C, MP_NOTEBOOK_BARE=1,
    /// MP_TIME_SCALE and MP_PID_LOG (a fresh temporary file, read and deleted afterwards).
    /// With `mergeStderr` fd 2 is the same pipe as fd 1, so the interleaving is the real one.
    /// At `timeout` seconds the process group is killed with SIGKILL; when the binary exits
    /// its group is killed too, so no leftover survives (except one that left the group).
    /// Every descriptor opened here is closed before returning.
    /// - Throws: `BookError` when the binary cannot be started or a pipe cannot be made.
    public func run(
        _ executable: String, _ arguments: [String], timeout: Double,
        mergeStderr: Bool = false, environment extra: [String] = []
    ) throws(BookError) -> RunResult {
        let pidLog = try FileSystem.makeTemporaryFile(prefix: "book-pids")
        defer { FileSystem.remove(pidLog) }

        let out = try makePipe()
        var errPipe: (read: Int32, write: Int32)?
        if !mergeStderr {
            do {
                errPipe = try makePipe()
            } catch {
                close(out.read)
                close(out.write)
                throw error
            }
        }

        var environment: [String] = []
        if let path = getenv("PATH") {
            environment.append("PATH=" + String(cString: path))
        } else {
            environment.append("PATH=/usr/local/bin:/usr/bin:/bin")
        }
        if let home = getenv("HOME") { environment.append("HOME=" + String(cString: home)) }
        environment += [
            "LC_ALL=C", "\(BookEnvironment.bare)=1", "\(BookEnvironment.timeScale)=\(timeScale)",
            "\(BookEnvironment.pidLog)=\(pidLog)",
        ]
        environment += extra

        let spawned = spawn(
            executable, [executable] + arguments, environment,
            stdout: out.write, stderr: errPipe?.write ?? out.write)
        // The child holds its own copies; ours must go so that EOF arrives when it is done.
        close(out.write)
        if let errPipe { close(errPipe.write) }
        let pid: pid_t
        switch spawned {
        case .success(let value):
            pid = value
        case .failure(let error):
            close(out.read)
            if let errPipe { close(errPipe.read) }
            throw error
        }

        var streams = [Stream(fd: out.read)]
        if let errPipe { streams.append(Stream(fd: errPipe.read)) }
        let start = monotonicSeconds()
        let deadline = start + timeout
        // A pidfd becomes readable when the process exits (before it is reaped), so poll wakes
        // at once. Without pidfd support, fall back to checking waitpid every 10 ms.
        let pidfd = mp_pidfd_open(pid)
        defer { if pidfd >= 0 { close(pidfd) } }

        var status: Int32 = 0
        var reaped = false
        var exited = false
        var timedOut = false
        while !exited {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 {
                timedOut = true
                break
            }
            var waitMilliseconds = Int32(min(remaining * 1000, 1_000_000).rounded(.up))
            if pidfd < 0 { waitMilliseconds = min(waitMilliseconds, 10) }
            let pidfdReady = pump(&streams, extra: pidfd, milliseconds: waitMilliseconds)
            if pidfd >= 0 {
                exited = pidfdReady
            } else if waitpid(pid, &status, WNOHANG) == pid {
                exited = true
                reaped = true
            }
        }

        // Before the kill: who in the group is still running (the binary is unreaped, so its pid,
        // the group id, cannot have been reused).
        let leftovers = exited ? groupMembers(pid).filter { $0 != pid } : []
        // Kill whatever is left of the group: the binary itself on a time-out, and any
        // descendants it left behind. While the binary is unreaped its pid (= the group id)
        // cannot be reused, so this cannot hit a stranger.
        _ = kill(-pid, SIGKILL)
        if !reaped {
            while waitpid(pid, &status, 0) < 0 && mp_errno() == EINTR {}
            reaped = true
        }

        // Drain to EOF; a process that left the group may still hold the pipes.
        let drainDeadline = monotonicSeconds() + drainTimeout
        while streams.contains(where: { !$0.closed }) {
            let remaining = drainDeadline - monotonicSeconds()
            if remaining <= 0 { break }
            _ = pump(&streams, extra: -1, milliseconds: Int32((remaining * 1000).rounded(.up)))
        }
        let heldOpen = streams.contains { !$0.closed }
        for index in streams.indices where !streams[index].closed {
            close(streams[index].fd)
            streams[index].closed = true
        }

        let termination: RunResult.Termination
        if timedOut {
            termination = .timedOut(seconds: timeout)
        } else if mp_wifsignaled(status) != 0 {
            termination = .signaled(mp_wtermsig(status))
        } else {
            termination = .exited(mp_wexitstatus(status))
        }
        let truncated = streams.contains { $0.bytes.count > maxOutputBytes }
        return RunResult(
            stdout: decode(streams[0].bytes),
            stderr: streams.count > 1 ? decode(streams[1].bytes) : "",
            termination: termination,
            pids: readPidLog(pidLog),
            outputHeldOpen: heldOpen,
            truncated: truncated,
            processGroup: pid,
            leftovers: leftovers)
    }

    private struct Stream {
        let fd: Int32
        var bytes: [UInt8] = []
        var closed = false
    }

    private func decode(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(maxOutputBytes), as: UTF8.self)
    }

    /// Waits up to `milliseconds` for output or for `extra` to become readable, reads what is
    /// ready, and closes streams at EOF. Returns whether `extra` was readable.
    private func pump(_ streams: inout [Stream], extra: Int32, milliseconds: Int32) -> Bool {
        var fds: [pollfd] = []
        var owners: [Int] = []
        for (index, stream) in streams.enumerated() where !stream.closed {
            fds.append(pollfd(fd: stream.fd, events: Int16(POLLIN), revents: 0))
            owners.append(index)
        }
        if extra >= 0 { fds.append(pollfd(fd: extra, events: Int16(POLLIN), revents: 0)) }
        if fds.isEmpty { return false }
        let ready = fds.withUnsafeMutableBufferPointer { poll($0.baseAddress, nfds_t($0.count), milliseconds) }
        if ready <= 0 { return false }  // time-out, or EINTR: the caller loops
        var buffer = [UInt8](repeating: 0, count: 65536)
        for (slot, index) in owners.enumerated() where fds[slot].revents != 0 {
            let n = buffer.withUnsafeMutableBytes { read(streams[index].fd, $0.baseAddress, $0.count) }
            if n > 0 {
                // Keep one byte more than the limit so that truncation is detectable.
                let room = maxOutputBytes + 1 - streams[index].bytes.count
                if room > 0 { streams[index].bytes.append(contentsOf: buffer[0..<min(n, room)]) }
            } else if n == 0 || (mp_errno() != EINTR && mp_errno() != EAGAIN) {
                close(streams[index].fd)
                streams[index].closed = true
            }
        }
        return extra >= 0 && fds[fds.count - 1].revents != 0
    }

    /// A pipe whose ends are close-on-exec and above fd 2 (so dup2 onto 1/2 is never a no-op).
    private func makePipe() throws(BookError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if mp_pipe_cloexec(&fds) != 0 { throw .system("cannot create a pipe") }
        for index in 0..<2 where fds[index] <= 2 {
            let moved = fcntl(fds[index], F_DUPFD_CLOEXEC, 3)
            close(fds[index])
            fds[index] = moved
        }
        if fds[0] < 0 || fds[1] < 0 {
            let error = BookError.system("cannot move a pipe above fd 2")
            for fd in fds where fd >= 0 { close(fd) }
            throw error
        }
        return (read: fds[0], write: fds[1])
    }

    private func spawn(
        _ path: String, _ argv: [String], _ environment: [String],
        stdout: Int32, stderr: Int32
    ) -> Result<pid_t, BookError> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group (pgid = pid) so the whole tree can be killed at once; signal
        // dispositions and mask reset, since ignored signals (SIGPIPE!) survive exec.
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in cArgv { free(pointer) }
            for pointer in cEnvironment { free(pointer) }
        }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, path, &actions, &attributes, cArgv, cEnvironment)
        if error != 0 {
            return .failure(BookError("cannot start \(path): \(String(cString: strerror(error)))"))
        }
        return .success(pid)
    }

    /// The processes of group `group` that are not zombies, from /proc.
    private func groupMembers(_ group: pid_t) -> [Int32] {
        guard let names = try? FileSystem.list("/proc") else { return [] }
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), let stat = try? FileSystem.readText("/proc/\(name)/stat"),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After "pid (comm) ": state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", Int32(fields[2]) == group else { return nil }
            return pid
        }
    }

    private func readPidLog(_ path: String) -> [Int32] {
        guard let text = try? FileSystem.readText(path) else { return [] }
        return BookEnvironment.pids(inLog: text)
    }
}

private func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() && abs(seconds) < 1e9 ? String(Int(seconds)) : String(seconds)
}

/// The conventional name of a signal, from the one table in the C shim (the runtime's `signalName` uses it too).
private func signalName(_ signal: Int32) -> String {
    if let name = mp_signal_name(signal) { return String(cString: name) }
    return "signal \(signal)"
}
