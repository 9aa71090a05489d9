import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter2 sleeper`
let sleeperCell = Cell("sleeper", "A process runs a closure", sleeper)

nonisolated func sleeper() throws {
    // cell: sleeper
    let sleeper = ChildProcess(name: "sleeper") {
        print("sleeper: pid \(getpid()), parent pid \(getppid())")
        print("sleeper: sleeping for 2 seconds")
        demoSleep(.seconds(2))
        print("sleeper: awake")
    }
    print("main: pid \(getpid())")
    try sleeper.start()
    try sleeper.join()
    print("main: the sleeper exited with code \(sleeper.exitCode!)")
    // end cell
}
