import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter3 parent-process`
let parentProcessDemoCell = Cell("parent-process", "A child can ask about its parent", parentProcessDemo)

nonisolated func parentProcessDemo() throws {
    // cell: parent-process
    print("main: my parent process is \(parentProcess()?.name ?? "none")")
    let orphanHasLooked = try Cue()
    let programKilled = try Cue()
    let program = ChildProcess(name: "program") {
        let orphan = ChildProcess(name: "orphan") {
            let parent = parentProcess()!
            print("orphan: my parent is \(parent.name), whose pid is getppid()? \(parent.pid == getppid())")
            print("orphan: my parent is alive? \(parent.isAlive)")
            orphanHasLooked.signal()
            programKilled.wait()
            print("orphan: my parent is alive? \(parent.isAlive)")
        }
        try orphan.start()
        orphanHasLooked.wait()
        print("program: now I am killed")
        kill(getpid(), SIGKILL)  // no exit handling: nobody joins the orphan
    }
    try program.start()
    try program.join()
    programKilled.signal()
    print("after the program: processes left over: \(ProcessSnapshot.leftovers().count)")
    // end cell
}
