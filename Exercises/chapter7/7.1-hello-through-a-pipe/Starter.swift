// Exercise 7.1: A result through a pipe (chapter 7, "Hello World through a pipe")
//
// The worker gets a result from Kit.work, but main never sees it. Send it through the pipe, receive
// it in main, and pass it to Kit.received.
//
// Check: swift run exercises check 7.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let (mainEnd, workerEnd) = try Connection<Int>.makePipe()
    let worker = ChildProcess(name: "worker") {
        let result = Kit.work(1)
        // TODO: send `result` to main through workerEnd.
        print("worker: my result is \(result)")
    }
    try worker.start()
    // TODO: receive the result from mainEnd and give it to Kit.received.
    try worker.join()
    _ = mainEnd
}
