// Exercise 2.1: Start the worker (chapter 2, "A process runs a closure")
//
// A ChildProcess is only a description until it is started. Make the worker's closure run in a
// child process, and wait until it has ended.
//
// Check: swift run exercises check 2.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let worker = ChildProcess(name: "worker") {
        Kit.task(0)  // the work, to be done in the child
    }
    // TODO: start the worker, then wait for it to end.
    print("main: the worker is \(worker.name)")
}
