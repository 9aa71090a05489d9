// Small helpers the chapters use to show what happens, not part of the runtime.

import Glibc
import Multiprocessing

/// A one-shot cue between processes: `wait()` blocks until another process calls `signal()`.
/// Chapters 1–3 use it to make their output order certain; chapter 5 shows `Event`, the real thing.
/// It is a pipe: `signal(times:)` writes one byte per waiter, `wait()` reads one.
public final class Cue: @unchecked Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    /// - Throws: `SystemError` if no pipe can be made (too many open files).
    public init() throws {
        (readEnd, writeEnd) = try Sys.pipe()
    }

    deinit {
        Sys.close(readEnd)
        Sys.close(writeEnd)
    }

    /// Releases `times` waiters (one each), in this process or any other that has the cue.
    public func signal(times: Int = 1) {
        Sys.writeAll(String(repeating: "!", count: times), to: writeEnd)
    }

    /// Blocks until a `signal()` releases this waiter.
    public func wait() {
        _ = try? Sys.read(readEnd, upTo: 1)
    }
}

/// Runs `body` in a child process whose standard output is a pipe, and returns what came through
/// the pipe, up to end of file: once every process that has the pipe (the child, and anything it
/// forked) has exited. The child gets a fresh C stdout stream, which C buffers fully, as it does
/// for any program whose output goes into a pipe or a file.
/// - Throws: `SystemError` when the pipe or the fork fails; the child's own errors end the child.
public func captureStandardOutput(_ body: () throws -> Void) throws -> String {
    let (readEnd, writeEnd) = try Sys.pipe()
    switch try forkProcess() {
    case .child:
        Sys.close(readEnd)
        try? Sys.redirect(writeEnd, to: 1)
        Sys.close(writeEnd)
        Sys.reopenStandardOutput()
        do {
            try body()
        } catch {
            Sys.flushStdio()
            Sys.writeAll("captured child failed: \(error)\n", to: 2)
            exitProcess(1)
        }
        exitProcess(0)
    case .parent(let pid):
        Sys.close(writeEnd)
        defer { Sys.close(readEnd) }
        let bytes = try Sys.readToEnd(readEnd)
        _ = try waitForProcess(pid)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Writes out whatever standard output has buffered (C's `fflush`).
public func flushStandardOutput() {
    Sys.flushStdio()
}

/// Polls `condition` every millisecond until it holds or `timeout` passes; returns whether it held.
/// For facts that the kernel makes true a moment later (a zombie appearing, a re-parenting).
public func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        Sys.sleep(for: .milliseconds(1))
    }
    return true
}

/// What /proc says about one process at one moment.
public struct ProcessSnapshot: Sendable {
    public let pid: pid_t
    /// The kernel's one-letter state: R running, S sleeping, Z zombie, ...
    public let state: Character
    public let parentPid: pid_t
    public let processGroup: pid_t
    /// The command name (the executable's name, at most 15 characters).
    public let command: String

    /// Reads /proc/<pid>/stat; nil once the process is gone (reaped).
    public init?(pid: pid_t) {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 1024)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "pid (command) state ppid pgrp ...": the command may contain spaces, so split after its ')'.
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 3, let open = line.firstIndex(of: "("), let state = fields[0].first,
            let parent = pid_t(fields[1]), let group = pid_t(fields[2])
        else { return nil }
        self.command = String(line[line.index(after: open)..<close])
        self.pid = pid
        self.state = state
        self.parentPid = parent
        self.processGroup = group
    }

    /// Every process in /proc right now.
    public static func all() -> [ProcessSnapshot] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [ProcessSnapshot] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = pid_t(name), let snapshot = ProcessSnapshot(pid: pid) { found.append(snapshot) }
        }
        return found
    }

    /// Every process in /proc that is still running (not a zombie), in the caller's process group,
    /// running the caller's program, other than the caller and its ancestors: what the caller's
    /// children left behind (other programs of a shell pipeline are not counted). Waits up to
    /// `timeout` for processes that are being killed to go, then reports what remains.
    public static func leftovers(timeout: Duration = .seconds(5)) -> [ProcessSnapshot] {
        let myCommand = ProcessSnapshot(pid: getpid())?.command
        var ancestors: Set<pid_t> = [getpid()]
        var pid = getppid()
        while pid > 1, let info = ProcessSnapshot(pid: pid) {
            ancestors.insert(pid)
            pid = info.parentPid
        }
        func scan() -> [ProcessSnapshot] {
            all().filter {
                !ancestors.contains($0.pid) && $0.processGroup == getpgrp() && $0.state != "Z"
                    && $0.command == myCommand
            }
        }
        var remaining = scan()
        _ = waitUntil(timeout: timeout) {
            remaining = scan()
            return remaining.isEmpty
        }
        return remaining
    }
}
