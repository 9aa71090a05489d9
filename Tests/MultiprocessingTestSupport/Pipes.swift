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
package typealias Gate = ProcessIO.Gate
