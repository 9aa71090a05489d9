import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter2 active-children`
let activeChildrenDemoCell = Cell("active-children", "Several processes at once", activeChildrenDemo)

nonisolated func activeChildrenDemo() throws {
    // cell: active-children
    let workers = (1...cpuCount()).map { _ in
        ChildProcess { while true { pause() } }  // waits for a signal, for ever
    }
    for worker in workers { try worker.start() }
    print("one worker per CPU: \(activeChildren().count == cpuCount())")

    for worker in workers { try worker.terminate() }
    for worker in workers { try worker.join() }
    print("active children after terminate and join: \(activeChildren().count)")
    // end cell
}
