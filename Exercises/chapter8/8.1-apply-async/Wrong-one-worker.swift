// Exercise 8.1, a plausible wrong solution: applyAsync, but a pool of one worker.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let pool = try Pool(processes: 1) { (n: Int) -> Int in Kit.work(n, milliseconds: 300) }
    let pending = try (0..<6).map { try pool.applyAsync($0) }
    for result in pending { Kit.received(try result.get()) }
    pool.close()
    try pool.join()
}
