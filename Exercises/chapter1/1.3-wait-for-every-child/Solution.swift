// Exercise 1.3: Wait for every child — a reference solution.
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    var children: [pid_t] = []  // every pid, not only the last
    for item in 0..<3 {
        switch try forkProcess() {
        case .child:
            Kit.task(item, milliseconds: 100)
            exitProcess(0)
        case .parent(let pid):
            children.append(pid)
        }
    }
    for child in children {
        let status = try waitForProcess(child)
        print("a child \(status)")
    }
}
