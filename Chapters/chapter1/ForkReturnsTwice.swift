import Glibc
import Multiprocessing

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
