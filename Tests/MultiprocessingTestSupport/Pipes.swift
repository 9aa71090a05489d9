// Pipes between a test and its children: a report pipe (children write, the test reads it all)
// and a gate (one process blocks until another opens it).

import Multiprocessing

/// A pipe for a child to report to the test: the child writes text, the test reads it all.
package struct ReportPipe {
    package let readEnd: Int32
    package let writeEnd: Int32

    /// - Throws: `SystemError` if no pipe can be made (too many open files).
    package init() throws {
        (readEnd, writeEnd) = try ProcessIO.pipe()
    }

    package func write(_ text: String) {
        ProcessIO.writeAll(text, to: writeEnd)
    }

    /// In the parent: closes its write end and reads to end of file (every writer has exited).
    package func readAll() throws -> String {
        ProcessIO.close(writeEnd)
        defer { ProcessIO.close(readEnd) }
        return String(decoding: try ProcessIO.readToEnd(readEnd), as: UTF8.self)
    }
}

/// A one-shot gate between processes: `wait()` blocks until another process calls `signal()`.
/// A pipe: `signal(times:)` writes one byte per waiter, `wait()` reads one.
package final class Gate: @unchecked Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    /// - Throws: `SystemError` if no pipe can be made (too many open files).
    package init() throws {
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
