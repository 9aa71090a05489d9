import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter3 daemon`
let daemonDiesCell = Cell("daemon", "Daemonic children die with the parent", daemonDies)

nonisolated func daemonDies() throws {
    // cell: daemon
    let program = ChildProcess(name: "program") {
        let ticker = ChildProcess(name: "ticker", daemon: true) {
            while true { demoSleep(.milliseconds(200)) }
        }
        try ticker.start()
        print("program: \(ticker.name) is running; I end without waiting for it")
    }  // at exit the program terminates its daemonic children
    try program.start()
    try program.join()
    print(
        "after the program: exit code \(program.exitCode!), processes left over: \(ProcessSnapshot.leftovers().count)")
    // end cell
}

/// `swift run chapter3 daemon-killed-parent`
let daemonKilledParentCell = Cell("daemon-killed-parent", "Even when the parent is killed", daemonKilledParent)

nonisolated func daemonKilledParent() throws {
    // cell: daemon-killed-parent
    let program = ChildProcess(name: "program") {
        let ticker = ChildProcess(name: "ticker", daemon: true) {
            while true { demoSleep(.milliseconds(200)) }
        }
        try ticker.start()
        print("program: \(ticker.name) is running; now I am killed")
        kill(getpid(), SIGKILL)  // no exit handling runs: the kernel kills the ticker
    }
    try program.start()
    try program.join()
    print(
        "after the program: exit code \(program.exitCode!), processes left over: \(ProcessSnapshot.leftovers().count)")
    // end cell
}

/// `swift run chapter3 daemon-children`
let daemonChildrenCell = Cell("daemon-children", "A daemonic process may not start children", daemonChildren)

nonisolated func daemonChildren() throws {
    // cell: daemon-children
    let ticker = ChildProcess(name: "ticker", daemon: true) {
        let helper = ChildProcess(name: "helper") {}
        attempt("ticker: start a child") { try helper.start() }
    }
    try ticker.start()
    try ticker.join()
    // end cell
}
