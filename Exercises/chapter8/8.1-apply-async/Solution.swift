// Exercise 8.1: Submit them all — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let pool = try Pool(processes: 3) { (n: Int) -> Int in Kit.work(n, milliseconds: 300) }
    let pending = try (0..<6).map { try pool.applyAsync($0) }  // all queued at once, returns at once
    for result in pending {
        Kit.received(try result.get())  // waits for that one result
    }
    pool.close()
    try pool.join()
}
