// Exercise 9.1: The write main never sees (chapter 9, "Separate memory")
//
// The worker computes a result and stores it in `result`, but main still reads 0 after join():
// the child wrote its own copy of the variable. Keep the work in the child process and make its
// result reach main: put it in memory that both processes share. Give it to Kit.received.
//
// Check: swift run exercises check 9.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    nonisolated(unsafe) var result = 0  // main's memory: the child gets a copy of it at the fork
    let worker = ChildProcess(name: "worker") {
        result = Kit.work(0, milliseconds: 50)
    }
    try worker.start()
    try worker.join()
    print("main sees result = \(result)")
    Kit.received(result)
}
