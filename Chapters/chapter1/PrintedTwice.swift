import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter1 printed-twice`
let printedTwiceCell = Cell("printed-twice", "Buffered output is copied by fork", printedTwice)

nonisolated func printedTwice() throws {
    // cell: printed-twice
    // Inside captureStandardOutput, stdout is a pipe: C buffers it fully, as for any program
    // whose output goes into a pipe or a file.
    let withRawFork = try captureStandardOutput {
        print("hello from before the fork")  // still in the buffer, not yet written
        let pid = fork()  // the bare system call copies the buffer too
        if pid == 0 {
            flushStandardOutput()  // the child writes out its copy...
            _exit(0)
        }
        waitpid(pid, nil, 0)  // ...and the parent the original, at exit
    }
    let withForkProcess = try captureStandardOutput {
        print("hello from before the fork")
        if case .parent(let pid) = try forkProcess() {  // flushes first
            _ = try waitForProcess(pid)
        }
    }
    print("raw fork():\n" + withRawFork, terminator: "")
    print("forkProcess():\n" + withForkProcess, terminator: "")
    // end cell
}
