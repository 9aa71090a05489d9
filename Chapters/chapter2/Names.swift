import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter2 names`
let namesCell = Cell("names", "Names and currentProcess()", names)

nonisolated func names() throws {
    // cell: names
    print("main: I am \(currentProcess().name)")
    let parent = ChildProcess {
        let me = currentProcess()
        print("child: I am \(me.name), pid is mine? \(me.pid == getpid())")
        let grandchild = ChildProcess { print("grandchild: I am \(currentProcess().name)") }
        try grandchild.start()
        try grandchild.join()
    }
    let named = ChildProcess(name: "reporter") { print("named: I am \(currentProcess().name)") }
    try parent.start()
    try parent.join()
    try named.start()
    try named.join()
    // end cell
}
