// Exercise 1.3: Wait for every child (chapter 1, "The parent waits and reads how the child ended")
//
// Find the bug: three children are forked, each does a task, yet when exercise() returns some of
// them have never been waited for.
//
// Check: swift run exercises check 1.3
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    var child: pid_t = 0
    for item in 0..<3 {
        switch try forkProcess() {
        case .child:
            Kit.task(item, milliseconds: 100)
            exitProcess(0)
        case .parent(let pid):
            child = pid
        }
    }
    let status = try waitForProcess(child)
    print("the child \(status)")
}
