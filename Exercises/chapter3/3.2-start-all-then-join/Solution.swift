// Exercise 3.2: Start all, then join — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<4).map { item in
        ChildProcess(name: "worker \(item)") { Kit.task(item, milliseconds: 400) }
    }
    for worker in workers { try worker.start() }  // all four running...
    for worker in workers { try worker.join() }  // ...before main waits for the first
    print("main: all four are done")
}
