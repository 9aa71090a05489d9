// Exercise 8.1: Submit them all (chapter 8, "apply: one task after another")
//
// A pool of 3 workers, six tasks of 300 ms. apply waits for each result before the next task is
// even submitted, so only one worker is ever busy. Submit all six with applyAsync first, then get
// the results, so that three run at once; give each result to Kit.received.
//
// Check: swift run exercises check 8.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let pool = try Pool(processes: 3) { (n: Int) -> Int in Kit.work(n, milliseconds: 300) }
    for n in 0..<6 {
        Kit.received(try pool.apply(n))
    }
    pool.close()
    try pool.join()
}
