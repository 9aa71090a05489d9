import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter1 fork-returns-twice`
let forkReturnsTwiceCell = Cell("fork-returns-twice", "fork returns twice", forkReturnsTwice)

nonisolated func forkReturnsTwice() throws {
    // cell: fork-returns-twice
    print("before fork: I am pid \(getpid())")
    switch try forkProcess() {
    case .child:
        print("child:  fork returned 0; I am pid \(getpid()), my parent is \(getppid())")
        exitProcess(0)
    case .parent(let childPid):
        _ = try waitForProcess(childPid)  // let the child speak first
        print("parent: fork returned \(childPid); I am still pid \(getpid())")
    }
    // end cell
}
