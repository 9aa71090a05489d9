import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter1 orphan`
let orphanCell = Cell("orphan", "A child whose parent dies is adopted", orphan)

nonisolated func orphan() throws {
    // cell: orphan
    let output = try captureStandardOutput {
        let parent = getpid()
        switch try forkProcess() {
        case .parent(let child):
            print("parent \(parent): exiting without waiting for child \(child)")
            exitProcess(0)
        case .child:
            _ = waitUntil { getppid() != parent }
            print("child: my parent \(parent) is gone; adopted by another process? \(getppid() != parent)")
            exitProcess(0)
        }
    }
    print(output, terminator: "")
    // end cell
}
