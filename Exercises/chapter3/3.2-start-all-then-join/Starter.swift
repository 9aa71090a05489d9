// Exercise 3.2: Start all, then join (chapter 3, "join inside the start loop runs one at a time")
//
// Find the bug: four workers each sleep 400 ms, so together they should take about 0.4 s. They
// take 1.6 s: they run one at a time. Make all four run at once.
//
// Check: swift run exercises check 3.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let workers = (0..<4).map { item in
        ChildProcess(name: "worker \(item)") { Kit.task(item, milliseconds: 400) }
    }
    for worker in workers {
        try worker.start()
        try worker.join()
    }
    print("main: all four are done")
}
