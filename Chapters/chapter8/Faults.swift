import Glibc
import Multiprocessing
import Notebook

struct TooBig: Error, CustomStringConvertible {
    let n: Int
    var description: String { "\(n) is too big" }
}

nonisolated func throwingTask() throws {
    // cell: throwing-task
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
