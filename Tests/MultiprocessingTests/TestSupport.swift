import Glibc
import Notebook

@testable import Multiprocessing

/// Descriptors open in this process right now (from /proc/self/fd).
func openDescriptorCount() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while readdir(directory) != nil { count += 1 }
    return count - 3  // ".", ".." and the directory's own descriptor
}

/// The one-letter /proc state of a process ("Z" zombie), or nil once it is gone.
func processState(_ pid: pid_t) -> Character? {
    ProcessSnapshot(pid: pid)?.state
}

/// Children of this process that are zombies (ended, not reaped).
func zombieChildren() -> [pid_t] {
    ProcessSnapshot.all().filter { $0.parentPid == getpid() && $0.state == "Z" }.map(\.pid)
}

/// True when the process is gone or a zombie (dead, whoever reaps it), polling up to `timeout`.
func becomesDead(_ pid: pid_t, within timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let state = processState(pid)
        if state == nil || state == "Z" { return true }
        Sys.sleep(for: .milliseconds(5))
    }
    return false
}

/// A pipe for a child to report to the test: the child writes text, the test reads it all.
struct ReportPipe {
    let readEnd: Int32
    let writeEnd: Int32

    init() throws {
        (readEnd, writeEnd) = try Sys.pipe()
    }

    func write(_ text: String) {
        Sys.writeAll(text, to: writeEnd)
    }

    /// In the parent: closes its write end and reads to end of file (every writer has exited).
    func readAll() throws -> String {
        Sys.close(writeEnd)
        defer { Sys.close(readEnd) }
        return String(decoding: try Sys.readToEnd(readEnd), as: UTF8.self)
    }
}

struct TestFailure: Error {}
