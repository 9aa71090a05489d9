import Multiprocessing
import Notebook

/// `swift run chapter9 fork-with-threads`
let forkWithThreadsCell = Cell(
    "fork-with-threads", "A lock held by another thread at the fork stays held in the child", forkWithThreads)

nonisolated func forkWithThreads() throws {
    // cell: fork-with-threads
    let mutex = PosixMutex()  // in this process's memory: each child gets a copy
    let held = try Event()
    let forked = try Event()
    let holder = PosixThread {
        mutex.lock()
        held.set()
        forked.wait()  // holds the mutex until the child exists
        mutex.unlock()
    }
    held.wait()
    let child = ChildProcess(name: "child") {
        forked.wait()  // lets the parent's warning come first in the output
        print("child: the mutex is free: \(mutex.tryLock())")
        print("child: waited 1 s for it, got it: \(mutex.lock(timeout: .seconds(1)))")
    }
    try child.start()  // fork copies the mutex, locked, but not the holder thread
    forked.set()
    holder.join()
    try child.join()
    print("main: the holder unlocked it here; main takes it: \(mutex.tryLock())")
    // end cell
}
