// Exercise 1.1: Reap the zombie (chapter 1, "A child nobody waits for is a zombie")
//
// The child below does its task and ends at once. But nobody waits for it, so the kernel keeps it
// as a zombie until its parent does. Make the parent reap it: one call.
//
// Check: swift run exercises check 1.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    guard case .parent(let child) = try forkProcess() else {
        Kit.task(0)  // the child's work
        exitProcess(0)
    }
    print("parent: started child \(child)")
    // TODO: wait for the child, so that it does not stay a zombie.
}
