// Exercise 1.1: Reap the zombie — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    guard case .parent(let child) = try forkProcess() else {
        Kit.task(0)  // the child's work
        exitProcess(0)
    }
    print("parent: started child \(child)")
    let status = try waitForProcess(child)  // waits for the end, then the kernel forgets the child
    print("parent: the child \(status)")
}
