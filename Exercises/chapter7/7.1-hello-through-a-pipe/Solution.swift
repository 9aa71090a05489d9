// Exercise 7.1: A result through a pipe — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let (mainEnd, workerEnd) = try Connection<Int>.makePipe()
    let worker = ChildProcess(name: "worker") {
        let result = Kit.work(1)
        try workerEnd.send(result)  // encoded, written into the pipe
        print("worker: my result is \(result)")
    }
    try worker.start()
    Kit.received(try mainEnd.receive())  // waits until a whole message has arrived
    try worker.join()
}
