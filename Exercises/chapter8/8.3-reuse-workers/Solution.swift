// Exercise 8.3: A pool instead of a process per task — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let pool = try Pool(processes: 3) { (n: Int) -> Int in Kit.work(n, milliseconds: 50) }
    for result in try pool.map(Array(0..<8)) {  // the results in input order
        Kit.received(result)
    }
    pool.close()
    try pool.join()
}
