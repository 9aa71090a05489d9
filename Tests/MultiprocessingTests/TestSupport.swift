import Glibc
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
    guard let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    guard fgets(&buffer, 512, file) != nil else { return nil }
    let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let close = line.lastIndex(of: ")") else { return nil }
    return line[line.index(close, offsetBy: 2)]
}

/// Children of this process that are zombies (ended, not reaped).
func zombieChildren() -> [pid_t] {
    guard let directory = opendir("/proc") else { return [] }
    defer { closedir(directory) }
    var zombies: [pid_t] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        guard let pid = pid_t(name), let file = fopen("/proc/\(pid)/stat", "r") else { continue }
        var buffer = [CChar](repeating: 0, count: 512)
        let read = fgets(&buffer, 512, file) != nil
        fclose(file)
        guard read else { continue }
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = line.lastIndex(of: ")") else { continue }
        let fields = line[line.index(after: close)...].split(separator: " ")
        if fields.count > 1, fields[0] == "Z", pid_t(fields[1]) == getpid() { zombies.append(pid) }
    }
    return zombies
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
        var bytes: [UInt8] = []
        while true {
            let chunk = try Sys.read(readEnd, upTo: 4096)
            if chunk.isEmpty { break }
            bytes += chunk
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct TestFailure: Error {}

/// XCTest brings in Foundation, which has a `Process` of its own.
typealias Process = Multiprocessing.Process
