import Multiprocessing
import Notebook

/// `swift run chapter6 joinable`
let joinableCell = Cell("joinable", "JoinableQueue: taskDone and join", joinable)

nonisolated func joinable() throws {
    // cell: joinable
    let chores = try JoinableQueue<String>()
    let worker = ChildProcess(name: "worker", daemon: true) {
        while true {
            let chore = try chores.get()
            demoSleep(.milliseconds(300))
            print("worker: \(chore) done")
            try chores.taskDone()
        }
    }
    try worker.start()
    for chore in ["wash", "dry", "fold"] { try chores.put(chore) }
    chores.join()  // returns when every chore put has been marked done
    print("main: all chores done, unfinished: \(chores.unfinishedTasks)")
    do {
        try chores.taskDone()
    } catch {
        print("main: one taskDone too many: \(error)")
    }
    // end cell
}
