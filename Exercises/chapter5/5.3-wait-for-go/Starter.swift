// Exercise 5.3: Wait for the go (chapter 5, "Event: wait until another process says go")
//
// main prepares data (about 300 ms) while three workers start. The workers use the data at once,
// before it is ready. Make them wait until main says go, with an Event.
//
// Check: swift run exercises check 5.3
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<3).map { item in
        ChildProcess(name: "worker \(item)") {
            // TODO: wait here until main says go.
            Kit.useData(item)
        }
    }
    for worker in workers { try worker.start() }
    Kit.prepare()
    // TODO: say go.
    for worker in workers { try worker.join() }
}
