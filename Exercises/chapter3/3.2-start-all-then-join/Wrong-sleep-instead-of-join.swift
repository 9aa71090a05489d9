// Exercise 3.2, a plausible wrong solution: start all, then sleep "long enough" instead of joining.
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    let workers = (0..<4).map { item in
        ChildProcess(name: "worker \(item)") { Kit.task(item, milliseconds: 400) }
    }
    for worker in workers { try worker.start() }
    usleep(500_000)
    print("main: all four are done")
}
