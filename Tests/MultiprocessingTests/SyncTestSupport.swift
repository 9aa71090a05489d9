import CMultiprocessingShims
import Glibc

@testable import Multiprocessing

extension ReportPipe {
    /// In the parent: reads one line (without its newline) that a child wrote, without waiting for end
    /// of file; nil if every writer ended first. The parent keeps its write end open meanwhile.
    func readLine() throws -> String? {
        var bytes: [UInt8] = []
        while true {
            let chunk = try Sys.read(readEnd, upTo: 1)
            if chunk.isEmpty { return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self) }
            if chunk[0] == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes += chunk
        }
    }
}

/// Installs a handler that does nothing for `signal`, without SA_RESTART: a blocking call the signal
/// interrupts fails with EINTR, which is what the runtime must survive. Use it in a child.
func catchSignalWithoutRestart(_ signal: Int32) {
    _ = mp_signal_catch_and_ignore(signal)
}

/// Sends `signal` to `pid` every `interval` until `done` returns true (at most `limit`). Returns how many.
@discardableResult
func pester(
    _ pid: pid_t, with signal: Int32, every interval: Duration = .milliseconds(10),
    limit: Duration = .seconds(10), until done: () -> Bool
) -> Int {
    let deadline = ContinuousClock.now + limit
    var sent = 0
    while !done() && ContinuousClock.now < deadline {
        kill(pid, signal)
        sent += 1
        Sys.sleep(for: interval)
    }
    return sent
}

/// Elapsed time of `body` and its result.
func timed<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> (T, Duration) {
    let start = ContinuousClock.now
    let result = try body()
    return (result, ContinuousClock.now - start)
}

/// Blocks until the thread `pid` sleeps in the kernel (state S), e.g. on a futex, polling up to 10 s.
/// Only a hint for ordering tests that must not rely on sleeps; the assertions never depend on it.
func waitUntilSleeping(_ pid: pid_t) {
    let deadline = ContinuousClock.now + .seconds(10)
    while processState(pid) != "S" && ContinuousClock.now < deadline { Sys.sleep(for: .milliseconds(1)) }
}
