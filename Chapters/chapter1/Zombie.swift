import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter1 zombie`
let zombieCell = Cell("zombie", "A child nobody waits for is a zombie", zombie)

nonisolated func zombie() throws {
    // cell: zombie
    guard case .parent(let child) = try forkProcess() else {
        exitProcess(0)  // the child ends at once
    }
    _ = waitUntil { ProcessSnapshot(pid: child)?.state == "Z" }
    print("child \(child) has exited; its state is \(ProcessSnapshot(pid: child)!.state) (zombie)")

    let status = try waitForProcess(child)  // reaping: the kernel can now forget the child
    print("after waitForProcess: \(status); still in /proc? \(ProcessSnapshot(pid: child) != nil)")
    // end cell
}
