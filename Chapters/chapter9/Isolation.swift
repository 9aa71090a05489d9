import Glibc
import Multiprocessing
import Notebook

/// Sends this process's standard error to /dev/null: a crash report would fill the book's output.
nonisolated func silenceStandardError() {
    let devNull = open("/dev/null", O_WRONLY)
    dup2(devNull, 2)
    close(devNull)
}

/// `swift run chapter9 crash`
let crashCell = Cell("crash", "A crash ends one process, not the others", crash)

nonisolated func crash() throws {
    // cell: crash
    let crasher = ChildProcess(name: "crasher") {
        silenceStandardError()  // keeps fatalError's report out of the book
        fatalError("a bug in one worker")
    }
    let steady = ChildProcess(name: "steady") { print("steady: my part is done") }
    for worker in [crasher, steady] { try worker.start() }
    for worker in [crasher, steady] { try worker.join() }
    print("crasher: killed by a signal: \(crasher.exitCode! < 0); steady: exit code \(steady.exitCode!)")
    print("main: still running")

    let team = ChildProcess(name: "team") {
        silenceStandardError()
        print("team: my main thread starts a second thread, which crashes")
        let second = PosixThread<Void> { fatalError("a bug in one thread") }
        second.join()
        print("team: my main thread goes on")  // never printed
    }
    try team.start()
    try team.join()
    print("team: killed by a signal: \(team.exitCode! < 0), with all its threads")
    // end cell
}

/// `swift run chapter9 memory`
let memoryCell = Cell("memory", "A thread shares memory; a child has its own copy", memory)

nonisolated func memory() throws {
    // cell: memory
    nonisolated(unsafe) var score = 1  // shared with a thread without a lock: "I take care of it"
    let thread = PosixThread { score = 2 }
    thread.join()
    print("a thread set score = 2; main sees \(score)")

    let child = ChildProcess { score = 3 }
    try child.start()
    try child.join()
    print("a child set score = 3; main sees \(score)")

    let shared = try RawSharedValue(2)  // in shared memory, on purpose
    let sharer = ChildProcess { shared.value = 3 }
    try sharer.start()
    try sharer.join()
    print("a child set shared.value = 3; main sees \(shared.value)")
    // end cell
}
