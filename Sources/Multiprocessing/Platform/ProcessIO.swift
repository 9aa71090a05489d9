// ProcessIO: the only platform calls that other targets of this package may use (the chapter
// runner Notebook, and the tests' support target). Everything else in Platform stays internal to
// the runtime, so a helper outside it cannot grow a dependency on `Sys`. Each call forwards to
// the `Sys` call the runtime itself uses; none is public API.

import Glibc

/// Descriptors, stdio, sleeping and the environment, for Notebook and the test support.
package enum ProcessIO {
    /// How C stdio buffers standard output.
    package enum Buffering: Sendable {
        /// Written out when the buffer (4 KiB) fills: the default into a pipe or a file.
        case full
        /// Written out at each newline: the default on a terminal.
        case line
    }

    /// A pipe whose two ends are close-on-exec (`pipe2`, like Python's `os.pipe`).
    /// - Throws: ``SystemError`` (EMFILE, ENFILE: too many open files). Cost: one system call.
    package static func pipe() throws(SystemError) -> (read: Int32, write: Int32) {
        try Sys.pipe()
    }

    /// Closes a descriptor (`os.close`). Not retried on EINTR: on Linux it is gone either way.
    package static func close(_ fd: Int32) {
        Sys.close(fd)
    }

    /// Reads up to `count` bytes (`os.read`), retrying EINTR; an empty array means end of file.
    /// - Throws: ``SystemError`` when read fails (EBADF, EIO). Cost: one `read`, one allocation.
    package static func read(_ fd: Int32, upTo count: Int) throws(SystemError) -> [UInt8] {
        try Sys.read(fd, upTo: count)
    }

    /// Reads until end of file: until every process that has the write end has closed it.
    /// - Throws: ``SystemError`` when a read fails. Cost: one `read` per 64 KiB.
    package static func readToEnd(_ fd: Int32) throws(SystemError) -> [UInt8] {
        try Sys.readToEnd(fd)
    }

    /// Writes all of `text` (`os.write` until done), retrying short writes and EINTR; other
    /// errors are dropped (last-words diagnostics, where nothing better can be done).
    package static func writeAll(_ text: String, to fd: Int32) {
        Sys.writeAll(text, to: fd)
    }

    /// Makes `fd` also known as `target` (`os.dup2`), e.g. to point stdout at a pipe.
    /// - Throws: ``SystemError`` (EBADF). Cost: one system call.
    package static func redirect(_ fd: Int32, to target: Int32) throws(SystemError) {
        try Sys.redirect(fd, to: target)
    }

    /// Writes out every C stdio stream's buffer (`fflush(NULL)`, like `sys.stdout.flush()`).
    package static func flushStdio() {
        Sys.flushStdio()
    }

    /// A fresh C stdout stream on descriptor 1, buffered as C chooses for what fd 1 now is.
    package static func reopenStandardOutput() {
        Sys.reopenStandardOutput()
    }

    /// Sets how C stdio buffers standard output; only before anything is written to it (C's rule).
    package static func setStandardOutputBuffering(_ buffering: Buffering) {
        Sys.setStandardOutputBuffering(buffering == .full ? .full : .line)
    }

    /// Pauses the calling thread for `duration` (`time.sleep`), resuming after signals.
    package static func sleep(for duration: Duration) {
        Sys.sleep(for: duration)
    }

    /// The value of an environment variable (`os.environ.get`), nil when unset.
    package static func environment(_ name: String) -> String? {
        Sys.environment(name)
    }

    /// Polls `condition` every millisecond until it holds or `timeout` passes; returns whether it
    /// held. For facts that the kernel makes true a moment later (a zombie appearing, a re-parenting).
    package static func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
        let deadline = Deadline(timeout: timeout)
        while !condition() {
            if deadline.hasPassed { return false }
            sleep(for: .milliseconds(1))
        }
        return true
    }

    /// A one-shot gate between processes: `wait()` blocks until another process calls `signal()`.
    /// A pipe: `signal(times:)` writes one byte per waiter, `wait()` reads one. Notebook's `Cue` and
    /// the tests' `Gate` are this.
    package final class Gate: @unchecked Sendable {
        private let readEnd: Int32
        private let writeEnd: Int32

        /// - Throws: `SystemError` if no pipe can be made (too many open files).
        package init() throws(SystemError) {
            (readEnd, writeEnd) = try ProcessIO.pipe()
        }

        deinit {
            ProcessIO.close(readEnd)
            ProcessIO.close(writeEnd)
        }

        /// Releases `times` waiters (one each), in this process or any other that has the gate.
        package func signal(times: Int = 1) {
            ProcessIO.writeAll(String(repeating: "!", count: times), to: writeEnd)
        }

        /// Blocks until a `signal()` releases this waiter.
        package func wait() {
            _ = try? ProcessIO.read(readEnd, upTo: 1)
        }
    }
}

/// What /proc/<pid>/stat says about one process at one moment (the one parser of that file for
/// the chapters and the tests).
package struct ProcessStat: Sendable, Equatable {
    package let pid: pid_t
    /// The kernel's one-letter state: R running, S sleeping, Z zombie, ...
    package let state: Character
    package let parentPid: pid_t
    package let processGroup: pid_t
    /// The command name (the executable's name, at most 15 characters).
    package let command: String

    /// Reads /proc/<pid>/stat; nil once the process is gone (reaped). Cost: one small file read.
    package init?(pid: pid_t) {
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

    /// Every process in /proc right now. Cost: one directory scan and one file read per process.
    package static func all() -> [ProcessStat] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var found: [ProcessStat] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let pid = pid_t(name), let stat = ProcessStat(pid: pid) { found.append(stat) }
        }
        return found
    }
}
