import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter1 exit-status`
let exitStatusCell = Cell("exit-status", "The parent waits and reads how the child ended", exitStatus)

nonisolated func exitStatus() throws {
    // cell: exit-status
    func startChild(_ work: () -> Void) throws -> pid_t {
        switch try forkProcess() {
        case .child:
            work()
            exitProcess(0)
        case .parent(let childPid):
            return childPid
        }
    }

    let finishes = try startChild { print("child 1: my work is done") }
    let fails = try startChild { exitProcess(3) }
    let hangs = try startChild { while true { pause() } }  // waits for a signal, for ever
    kill(hangs, SIGKILL)

    for (label, pid) in [("child 1", finishes), ("child 2", fails), ("child 3", hangs)] {
        let status = try waitForProcess(pid)
        print("\(label): \(status)")
    }
    // end cell
}
