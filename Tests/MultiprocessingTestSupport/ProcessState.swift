// What the runtime's tests share, kept out of the chapter runner (Notebook) and out of XCTest:
// process state from /proc, descriptor counts, a report pipe, a gate, waiting for a fact. The
// assertions stay in the test target; this target only observes and waits.
// Depends on Multiprocessing's `package` seams only (ProcessIO, ProcessStat), never on `Sys`.

import Glibc
import Multiprocessing

/// Descriptors open in this process right now (from /proc/self/fd).
package func openDescriptorCount() -> Int {
    guard let directory = opendir("/proc/self/fd") else { return -1 }
    defer { closedir(directory) }
    var count = 0
    while readdir(directory) != nil { count += 1 }
    return count - 3  // ".", ".." and the directory's own descriptor
}

/// The one-letter /proc state of a process ("Z" zombie), or nil once it is gone.
package func processState(_ pid: pid_t) -> Character? {
    ProcessStat(pid: pid)?.state
}

/// Children of this process that are zombies (ended, not reaped).
package func zombieChildren() -> [pid_t] {
    ProcessStat.all().filter { $0.parentPid == getpid() && $0.state == "Z" }.map(\.pid)
}

/// True when the process is gone or a zombie (dead, whoever reaps it), polling up to `timeout`.
package func becomesDead(_ pid: pid_t, within timeout: Duration) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        let state = processState(pid)
        if state == nil || state == "Z" { return true }
        ProcessIO.sleep(for: .milliseconds(5))
    }
    return false
}

/// Polls `condition` every millisecond until it holds or `timeout` passes; returns whether it held.
/// For facts that the kernel makes true a moment later (a zombie appearing, a re-parenting).
package func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    ProcessIO.waitUntil(timeout: timeout, condition)
}

/// Resident memory of this process in KiB (VmRSS from /proc/self/status).
package func residentKiB() -> Int {
    guard let file = fopen("/proc/self/status", "r") else { return -1 }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 256)
    while fgets(&buffer, Int32(buffer.count), file) != nil {
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if line.hasPrefix("VmRSS:") {
            return Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? -1
        }
    }
    return -1
}
