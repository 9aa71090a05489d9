// Exercise 6.1: Results through a queue — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let results = try Queue<Int>()  // made before the fork: shared by main and the workers
    let workers = (1...4).map { n in
        ChildProcess(name: "worker \(n)") {
            try results.put(Kit.work(n))
        }
    }
    for worker in workers { try worker.start() }
    for _ in 1...4 { Kit.received(try results.get()) }  // one get per worker: waits for each result
    for worker in workers { try worker.join() }
    print("main received 4 results")
}
