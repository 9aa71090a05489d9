// Exercise 8.2: Keep the results when a worker crashes (chapter 8, "A worker killed in the middle
// of a task")
//
// Task 5 kills the worker running it. map then throws, and main loses all eight results, the seven
// good ones too. Collect the results one by one, so that only task 5's is lost; give each good
// result to Kit.received.
//
// Check: swift run exercises check 8.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let pool = try Pool(processes: 2) { (n: Int) -> Int in Kit.crashOnFive(n) }
    for result in try pool.map(Array(0..<8)) {
        Kit.received(result)
    }
    pool.close()
    try pool.join()
}
