import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter8 throwing-task`
let throwingTaskCell = Cell("throwing-task", "A task that throws", throwingTask)

nonisolated func throwingTask() throws {
    // cell: throwing-task
    struct TooBig: Error, CustomStringConvertible {
        let n: Int
        var description: String { "\(n) is too big" }
    }

    let pool = try Pool(processes: 2) { (n: Int) throws -> Int in
        if n > 3 { throw TooBig(n: n) }
        return n * 10
    }
    do {
        _ = try pool.apply(7)
    } catch {
        print("apply(7) threw: \(error)")
    }
    print("the pool is fine: apply(2) = \(try pool.apply(2))")

    do throws(PoolError) {
        _ = try pool.map([1, 2, 5, 3, 9])
    } catch .taskFailed(_, _, _, let description) {
        print("map ran every task, then threw the first failure: \(description)")
    } catch {
        print("unexpected: \(error)")
    }
    let outcomes = try pool.imap([1, 5, 2])
    print("imap: \(outcomes.map { (try? $0.get()).map(String.init) ?? "failed" })")
    pool.close()
    try pool.join()
    // end cell
}

/// `swift run chapter8 where-it-failed`
let whereItFailedCell = Cell("where-it-failed", "Where a task failed: the worker, its pid, the error", whereItFailed)

nonisolated func whereItFailed() throws {
    // cell: where-it-failed
    struct Overdrawn: Error, CustomStringConvertible {
        let amount: Int
        let place: String
        // A thrown error records nothing of where it was thrown: this one notes its call site.
        init(by amount: Int, file: String = #fileID, line: Int = #line) {
            self.amount = amount
            place = "\(file):\(line)"
        }
        var description: String { "overdrawn by \(amount), thrown at \(place)" }
    }

    let pool = try Pool(processes: 2) { (amount: Int) throws -> Int32 in
        if amount > 100 { throw Overdrawn(by: amount - 100) }
        return getpid()  // the pid of the worker that ran it
    }
    let ranIn = try pool.apply(50)
    do throws(PoolError) {
        _ = try pool.apply(150)
    } catch {
        print(error)
        if case .taskFailed(let worker, let pid, let type, let description) = error {
            print("worker: \(worker), pid: \(pid) (apply(50) ran in pid \(ranIn))")
            print("type: \(type)")
            print("description: \(description)")
        }
    }
    pool.close()
    try pool.join()
    // end cell
}

/// `swift run chapter8 worker-killed`
let workerKilledCell = Cell("worker-killed", "A worker killed in the middle of a task", workerKilled)

nonisolated func workerKilled() throws {
    // cell: worker-killed
    let workerPids = try Queue<Int32>()
    let pool = try Pool(processes: 2) { (n: Int) -> Int in
        if n == 0 {  // this task reports its worker's pid, then hangs
            try workerPids.put(getpid())
            while true { pause() }
        }
        return n * n
    }
    let doomed = try pool.applyAsync(0)
    let victim = try workerPids.get()
    kill(victim, SIGKILL)  // what `kill -9` does, or the kernel's out-of-memory killer
    do {
        _ = try doomed.get()
    } catch {
        print("the caller sees: \(error)")
    }
    print("other tasks still run: \(try pool.map(1...5))")
    pool.close()
    try pool.join()
    // end cell
}
