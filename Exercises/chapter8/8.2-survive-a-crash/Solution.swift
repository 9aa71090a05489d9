// Exercise 8.2: Keep the results when a worker crashes — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let pool = try Pool(processes: 2) { (n: Int) -> Int in Kit.crashOnFive(n) }
    let pending = try (0..<8).map { try pool.applyAsync($0) }
    for (n, result) in pending.enumerated() {
        do {
            Kit.received(try result.get())
        } catch {
            print("task \(n) failed: \(error)")  // only this result is lost; the pool goes on
        }
    }
    pool.close()
    try pool.join()
}
