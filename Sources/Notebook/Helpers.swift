// Small helpers the chapters use to show what happens, not part of the runtime.

import Glibc
import Multiprocessing

/// A one-shot cue between processes: `wait()` blocks until another process calls `signal()`.
/// Chapters 1–3 use it to make their output order certain; chapter 5 shows `Event`, the real thing.
/// It is a pipe: `signal(times:)` writes one byte per waiter, `wait()` reads one.
public final class Cue: Sendable {
    private let gate: ProcessIO.Gate

    /// - Throws: `SystemError` if no pipe can be made (too many open files).
    public init() throws {
        gate = try ProcessIO.Gate()
    }

    /// Releases `times` waiters (one each), in this process or any other that has the cue.
    public func signal(times: Int = 1) { gate.signal(times: times) }

    /// Blocks until a `signal()` releases this waiter.
    public func wait() { gate.wait() }
}

/// Runs `body` in a child process whose standard output is a pipe, and returns what came through
/// the pipe, up to end of file: once every process that has the pipe (the child, and anything it
/// forked) has exited. The child gets a fresh C stdout stream, which C buffers fully, as it does
/// for any program whose output goes into a pipe or a file.
/// - Throws: `SystemError` when the pipe or the fork fails; the child's own errors end the child.
public func captureStandardOutput(_ body: () throws -> Void) throws -> String {
    let (readEnd, writeEnd) = try ProcessIO.pipe()
    switch try forkProcess() {
    case .child:
        ProcessIO.close(readEnd)
        try? ProcessIO.redirect(writeEnd, to: 1)
        ProcessIO.close(writeEnd)
        ProcessIO.reopenStandardOutput()
        do {
            try body()
        } catch {
            ProcessIO.flushStdio()
            ProcessIO.writeAll("captured child failed: \(error)\n", to: 2)
            exitProcess(1)
        }
        exitProcess(0)
    case .parent(let pid):
        ProcessIO.close(writeEnd)
        defer { ProcessIO.close(readEnd) }
        let bytes = try ProcessIO.readToEnd(readEnd)
        _ = try waitForProcess(pid)
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Writes out whatever standard output has buffered (C's `fflush`).
public func flushStandardOutput() {
    ProcessIO.flushStdio()
}

/// Polls `condition` every millisecond until it holds or `timeout` passes; returns whether it held.
/// For facts that the kernel makes true a moment later (a zombie appearing, a re-parenting).
public func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    ProcessIO.waitUntil(timeout: timeout, condition)
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
        guard let stat = ProcessStat(pid: pid) else { return nil }
        self.init(stat)
    }

    private init(_ stat: ProcessStat) {
        self.pid = stat.pid
        self.state = stat.state
        self.parentPid = stat.parentPid
        self.processGroup = stat.processGroup
        self.command = stat.command
    }

    /// Every process in /proc right now.
    public static func all() -> [ProcessSnapshot] {
        ProcessStat.all().map(ProcessSnapshot.init)
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

/// Runs `body` and prints `what: fine`, or `what: ` and the error it threw: how the chapters show a
/// misuse and the typed error it gets, one line each.
public func attempt(_ what: String, _ body: () throws -> Void) {
    do {
        try body()
        print("\(what): fine")
    } catch {
        print("\(what): \(error)")
    }
}
