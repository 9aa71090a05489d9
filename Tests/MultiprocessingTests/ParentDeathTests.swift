import Glibc
import XCTest

@testable import Multiprocessing

/// SIGKILL the main process of a tree: nothing it started survives 2 s later.
final class ParentDeathTests: XCTestCase {
    /// The "program" (a child of the test) builds a tree, reports every pid, and is SIGKILLed:
    /// - daemonic children, some busy, some blocked (in `pause`, in a Lock acquire): killed by their
    ///   parent-death signal;
    /// - a non-daemonic worker that serves requests from the program over a pipe and has daemonic
    ///   children of its own (the program's grandchildren): the worker sees end of file when the
    ///   program dies, returns, and its exit handling ends its daemons.
    /// - a Pool: its zygote and workers have a parent-death signal.
    /// A non-daemonic child that waits for nothing from its parent outlives it, as in Python: that
    /// is the meaning of non-daemonic, so the tree below has none.
    func testNothingSurvivesAKilledMainProcess() throws {
        var random = FaultRandom(#function)
        let leftovers = Leftovers()
        for round in 0..<3 {
            let report = try ReportPipe()
            let lock = try Lock()
            let program = ChildProcess {
                lock.acquire()
                var daemons = [
                    ChildProcess(daemon: true) { while true { pause() } },
                    ChildProcess(daemon: true) { while true { spinWithoutSystemCalls() } },
                    ChildProcess(daemon: true) { lock.acquire() },  // blocked for ever on the held lock
                ]
                for daemon in daemons { try daemon.start() }
                let (requests, toWorker) = try Connection<Int>.makePipe(duplex: false)
                let worker = ChildProcess(name: "worker") {
                    toWorker.close()
                    let helpers = (0..<2).map { _ in ChildProcess(daemon: true) { while true { pause() } } }
                    for helper in helpers { try helper.start() }
                    report.write("grandchildren \(helpers.map { String($0.pid!) }.joined(separator: " "))\n")
                    while (try? requests.receive()) != nil {}
                }
                try worker.start()
                requests.close()
                daemons.append(worker)
                try toWorker.send(1)
                // A pool: its zygote and workers (grandchildren) must die with the program too.
                let pool = try Pool<Int, Int>(processes: 2) { x in x }
                let poolPids = [pool.processIDs.zygote] + pool.waitForWorkers()
                _ = try pool.applyAsync(1)
                report.write("pool \(poolPids.map(String.init).joined(separator: " "))\n")
                report.write("children \(daemons.map { String($0.pid!) }.joined(separator: " "))\n")
                while true { pause() }
            }
            try program.start()
            var pids: [pid_t] = []
            for _ in 0..<3 {
                let line = try XCTUnwrap(try report.readLine(), "round \(round)")
                pids += line.split(separator: " ").dropFirst().compactMap { pid_t($0) }
            }
            XCTAssertEqual(pids.count, 9, "3 daemons, a worker, 2 grandchildren, a pool's zygote and 2 workers")
            ProcessIO.sleep(for: random.microseconds(0...20_000))
            try program.kill()
            try program.join(timeout: .seconds(5))
            XCTAssertEqual(program.exitCode, -SIGKILL)
            let deadline = ContinuousClock.now + .seconds(2)
            for pid in pids {
                XCTAssertTrue(
                    becomesDead(pid, within: max(.zero, ContinuousClock.now.duration(to: deadline))),
                    "process \(pid) survived its killed parent by 2 s: round \(round), \(random.describe)")
            }
            ProcessIO.close(report.readEnd)
            ProcessIO.close(report.writeEnd)
        }
        print(
            "FAULTS parent-death: 3 trees (27 descendants: daemons, a worker, grandchildren, a pool) gone within 2 s of their root's SIGKILL"
        )
        leftovers.assertNothingLeft(random.describe)
    }
}

/// Spins without a system call (a busy daemon).
@inline(never)
private func spinWithoutSystemCalls() {
    for _ in 0..<1_000_000 { _ = getpid }
}
