// Exercise 1.1, a plausible wrong solution: sleeping gives the child time to end, but nobody reaps it.
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    guard case .parent(let child) = try forkProcess() else {
        Kit.task(0)  // the child's work
        exitProcess(0)
    }
    print("parent: started child \(child)")
    usleep(500_000)
}
