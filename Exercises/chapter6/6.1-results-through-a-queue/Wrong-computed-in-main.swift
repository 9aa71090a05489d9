// Exercise 6.1, a plausible wrong solution: main makes up the results itself.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (1...4).map { n in
        ChildProcess(name: "worker \(n)") { _ = Kit.work(n) }
    }
    for worker in workers { try worker.start() }
    for worker in workers { try worker.join() }
    for n in 1...4 { Kit.received(n) }
}
