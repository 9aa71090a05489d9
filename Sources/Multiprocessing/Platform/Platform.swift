// The platform layer: every Linux call the runtime makes goes through here.
// Typed errno, EINTR retry with the remaining time, close-on-exec descriptors,
// signals, waiting for children, and the monotonic clock.

import CMultiprocessingShims
import Glibc

// Said once, here, so that another platform gets one clear message instead of a page of missing calls.
#if !os(Linux)
    #error(
        "Multiprocessing runs on Linux only: it is built on Linux calls (pidfd_open, prctl, eventfd, signalfd, futex)")
#endif

/// A failed system call: which call, and the ``errno`` it left.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The name of the call that failed, e.g. `"fork"`.
    public let call: String
    /// The `errno` value the call left.
    public let errno: Int32

    /// The error for `call` (e.g. `"fork"`) having failed with `errno`.
    /// - Parameters:
    ///   - call: the name of the failed call.
    ///   - errno: the `errno` value it left.
    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

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

/// The conventional name of a signal number, e.g. `SIGKILL` for 9.
public func signalName(_ signal: Int32) -> String {
    switch signal {
    case SIGHUP: return "SIGHUP"
    case SIGINT: return "SIGINT"
    case SIGQUIT: return "SIGQUIT"
    case SIGILL: return "SIGILL"
    case SIGABRT: return "SIGABRT"
    case SIGBUS: return "SIGBUS"
    case SIGFPE: return "SIGFPE"
    case SIGKILL: return "SIGKILL"
    case SIGUSR1: return "SIGUSR1"
    case SIGSEGV: return "SIGSEGV"
    case SIGUSR2: return "SIGUSR2"
    case SIGPIPE: return "SIGPIPE"
    case SIGALRM: return "SIGALRM"
    case SIGTERM: return "SIGTERM"
    default: return "signal \(signal)"
    }
}

/// Thin, typed wrappers over the system calls the runtime uses.
package enum Sys {
    static var errno: Int32 { mp_errno() }

    /// Runs `body` until it stops failing with EINTR; -1 becomes a `SystemError`.
    @discardableResult
    static func retrying<T: BinaryInteger>(_ call: String, _ body: () -> T) throws(SystemError) -> T {
        while true {
            let result = body()
            if result != -1 { return result }
            let error = mp_errno()
            if error != EINTR { throw SystemError(call, errno: error) }
        }
    }

    /// Closes a descriptor. Not retried on EINTR: on Linux the descriptor is gone either way.
    package static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// A close-on-exec duplicate of a descriptor, or nil if none can be made.
    package static func duplicate(_ fd: Int32) -> Int32? {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        return copy >= 0 ? copy : nil
    }

    /// A pipe whose two ends are close-on-exec.
    package static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        let result = fds.withUnsafeMutableBufferPointer { mp_pipe_cloexec($0.baseAddress!) }
        if result != 0 { throw SystemError("pipe2", errno: mp_errno()) }
        return (fds[0], fds[1])
    }

    /// How C stdio buffers standard output.
    package enum Buffering {
        /// Written out when the buffer (4 KiB) fills: the default into a pipe or a file.
        case full
        /// Written out at each newline: the default on a terminal.
        case line
    }

    /// Only before anything is written to standard output (C's rule).
    package static func setStandardOutputBuffering(_ buffering: Buffering) {
        _ = mp_set_stdout_buffering(buffering == .full ? _IOFBF : _IOLBF)
    }

    /// A fresh C stdout stream on descriptor 1, buffered as C chooses for what fd 1 now is.
    package static func reopenStandardOutput() {
        _ = mp_reopen_stdout()
    }

    /// Flushes every C stdio stream, so that no buffered text is copied into a child.
    package static func flushStdio() {
        fflush(nil)
    }

    static func fork() throws(SystemError) -> pid_t {
        let pid = Glibc.fork()
        if pid < 0 { throw SystemError("fork", errno: mp_errno()) }
        return pid
    }

    /// Ends this process at once: no atexit handlers, no stdio flush (callers flush first).
    static func exitImmediately(_ status: Int32) -> Never {
        _exit(status)
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

    /// Off only in tests, to exercise the path for kernels without pidfds.
    nonisolated(unsafe) package static var pidfdEnabled = true

    /// Blocks until the child has ended, without reaping it (waitid with WNOWAIT), so that the
    /// reaping can happen under a lock. ECHILD (already reaped) returns at once.
    static func waitUntilEnded(_ pid: pid_t) throws(SystemError) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
            let error = mp_errno()
            if error == ECHILD { return }
            if error != EINTR { throw SystemError("waitid", errno: error) }
        }
    }

    /// A pidfd for a child, or nil where the kernel has none (then callers poll `waitpid`).
    static func pidfd(for pid: pid_t) -> Int32? {
        guard pidfdEnabled else { return nil }
        let fd = mp_pidfd_open(pid)
        return fd >= 0 ? fd : nil
    }

    /// Sends a signal; a process that is already gone is not an error.
    static func signal(_ pid: pid_t, _ signal: Int32) throws(SystemError) {
        if Glibc.kill(pid, signal) != 0 {
            let error = mp_errno()
            if error != ESRCH { throw SystemError("kill", errno: error) }
        }
    }

    /// Waits until `fd` is readable (or hung up), or until the deadline passes.
    /// EINTR is retried with the remaining time. Returns false on timeout.
    static func waitReadable(_ fd: Int32, deadline: ContinuousClock.Instant?) throws(SystemError) -> Bool {
        while true {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let timeout = pollTimeout(until: deadline)
            let result = Glibc.poll(&entry, 1, timeout)
            if result > 0 { return true }
            if result == 0 {
                // poll's millisecond resolution can wake a hair early; only the clock decides.
                if let deadline, ContinuousClock.now >= deadline { return false }
                continue
            }
            let error = mp_errno()
            if error != EINTR { throw SystemError("poll", errno: error) }
        }
    }

    /// Milliseconds until the deadline for poll(): -1 for none, 0 once passed, rounded up otherwise.
    static func pollTimeout(until deadline: ContinuousClock.Instant?) -> Int32 {
        guard let deadline else { return -1 }
        let remaining = ContinuousClock.now.duration(to: deadline)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        let milliseconds = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: milliseconds)
    }

    /// Sleeps for the whole duration; a signal does not cut it short.
    package static func sleep(for duration: Duration) {
        let deadline = ContinuousClock.now + duration
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return }
            let (seconds, attoseconds) = remaining.components
            var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            _ = nanosleep(&request, nil)
        }
    }

    /// Points descriptor 0 at /dev/null (a child must not compete for the terminal's input).
    static func redirectStdinToDevNull() {
        let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        if fd != 0 {
            _ = dup2(fd, 0)  // dup2 clears close-on-exec on the new descriptor, as stdin should be.
            Glibc.close(fd)
        }
    }

    /// Asks the kernel to send `signal` to this process when its parent thread ends.
    static func setParentDeathSignal(_ signal: Int32) {
        _ = mp_set_parent_death_signal(signal)
    }

    /// Ignores SIGPIPE, once per process, so that a write to a closed peer fails with EPIPE.
    static func ignoreSIGPIPE() {
        _ = mp_signal_ignore(SIGPIPE)
    }

    static func cpuCount() -> Int {
        let affinity = mp_affinity_cpu_count()
        if affinity > 0 { return Int(affinity) }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Appends one line to a file (O_APPEND keeps lines from many processes whole).
    static func appendLine(_ line: String, toFile path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        var text = line
        text.append("\n")
        text.withUTF8 { bytes in _ = write(fd, bytes.baseAddress, bytes.count) }
        Glibc.close(fd)
    }

    /// Reads up to `count` bytes, retrying EINTR. An empty array means end of file.
    package static func read(_ fd: Int32, upTo count: Int) throws(SystemError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        let got = buffer.withUnsafeMutableBytes { raw in
            while true {
                let result = Glibc.read(fd, raw.baseAddress, count)
                if result >= 0 || mp_errno() != EINTR { return result }
            }
        }
        if got < 0 { throw SystemError("read", errno: mp_errno()) }
        buffer.removeSubrange(got...)
        return buffer
    }

    /// Reads until end of file: until every process that has the write end has closed it.
    package static func readToEnd(_ fd: Int32) throws(SystemError) -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let chunk = try read(fd, upTo: 65536)
            if chunk.isEmpty { return bytes }
            bytes += chunk
        }
    }

    /// Makes `fd` also known as `target` (dup2), e.g. to point stdout at a pipe.
    package static func redirect(_ fd: Int32, to target: Int32) throws(SystemError) {
        try retrying("dup2") { dup2(fd, target) }
    }

    /// Writes a whole string to a descriptor, retrying short writes and EINTR; errors are dropped
    /// (used for last-words diagnostics on stderr, where nothing better can be done).
    package static func writeAll(_ text: String, to fd: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && mp_errno() == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    package static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// A pthread mutex private to one process, which a forked child can re-create: the child of a
/// multi-threaded parent may inherit it locked by a thread that does not exist there.
final class LocalMutex: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// `withLock` when the mutex is free now; nil, without running `body`, when another thread holds it.
    func withLockIfFree<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Only in a freshly forked child, which has a single thread.
    func reinitializeInChild() {
        pthread_mutex_init(mutex, nil)
    }
}
