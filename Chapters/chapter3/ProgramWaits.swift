import Multiprocessing
import Notebook

/// `swift run chapter3 program-waits`
let programWaitsCell = Cell("program-waits", "Without daemon, the program waits for its children", programWaits)

nonisolated func programWaits() throws {
    // cell: program-waits
    let program = ChildProcess(name: "program") {
        let lastLinePrinted = try Cue()
        let worker = ChildProcess(name: "worker") {
            lastLinePrinted.wait()
            print("worker: finishing after the program's last line")
        }
        try worker.start()
        print("program: this is my last line")
        lastLinePrinted.signal()
    }  // the program ends here, and its exit handling joins the worker
    try program.start()
    try program.join()
    print(
        "after the program: exit code \(program.exitCode!), processes left over: \(ProcessSnapshot.leftovers().count)")
    // end cell
}
