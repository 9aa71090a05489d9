// Exercise 6.1: Results through a queue (chapter 6, "A plain array is not shared")
//
// Four workers each get a result from Kit.work and append it to `results`. But each child appends
// to its own copy of the array: main's stays empty. Send the results to main through a Queue, and
// call Kit.received(result) in main for each one.
//
// Check: swift run exercises check 6.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    var results: [Int] = []
    let workers = (1...4).map { n in
        ChildProcess(name: "worker \(n)") {
            results.append(Kit.work(n))
        }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    for result in results { Kit.received(result) }
    print("main received \(results.count) results")
}
