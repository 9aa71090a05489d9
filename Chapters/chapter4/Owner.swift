import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter4 owner`
let ownerDemoCell = Cell("owner", "Who may release: anyone for a Lock, only the owner for an RLock", ownerDemo)

nonisolated func ownerDemo() throws {
    // cell: owner
    let lock = try Lock()
    let rlock = try RLock()
    lock.acquire()
    rlock.acquire()
    let other = ChildProcess(name: "other") {
        do {
            try lock.release()
            print("other: released the main process's Lock")
            try rlock.release()
            print("other: released the main process's RLock")
        } catch {
            print("other: \(error)")
        }
    }
    try other.start()
    try other.join()
    print("main: Lock still locked? \(lock.isLocked); RLock still mine? \(rlock.isOwnedByCurrentThread)")
    try rlock.release()
    // end cell
}

/// `swift run chapter4 rlock`
let rlockDemoCell = Cell("rlock", "RLock: the owner may acquire again", rlockDemo)

nonisolated func rlockDemo() throws {
    // cell: rlock
    let lock = try RLock()
    func addOne() {
        lock.withLock { print("  addOne: holding it \(lock.recursionDepth) deep") }
    }
    lock.withLock {
        print("addTwo: holding it \(lock.recursionDepth) deep")
        addOne()  // takes the same lock again: fine for its owner
        addOne()
    }
    print("after: held \(lock.recursionDepth) deep")

    let plain = try Lock()
    plain.acquire()
    print("a plain Lock, acquired again: \(plain.acquire(timeout: .milliseconds(200))) (it would wait for ever)")
    // end cell
}

/// `swift run chapter4 misuse`
let misuseCell = Cell("misuse", "Mistakes are errors", misuse)

nonisolated func misuse() throws {
    // cell: misuse
    let lock = try Lock()
    attempt("release an unlocked Lock") { try lock.release() }
    let rlock = try RLock()
    rlock.acquire()
    attempt("release the RLock") { try rlock.release() }
    attempt("release it once more") { try rlock.release() }
    // end cell
}

/// `swift run chapter4 killed-holder`
let killedHolderCell = Cell("killed-holder", "A holder killed while holding the lock", killedHolder)

nonisolated func killedHolder() throws {
    // cell: killed-holder
    let lock = try Lock()
    let holding = try Event()
    let holder = ChildProcess(name: "holder") {
        lock.acquire()
        print("holder (pid \(getpid())): I have the lock, and I keep it")
        holding.set()
        while true { pause() }
    }
    try holder.start()
    holding.wait()
    let waiter = ChildProcess(name: "waiter") {
        lock.acquire()  // blocks: the holder never releases
        print("waiter: got the lock, \(lock.recovery.map { "\($0)" } ?? "normally")")
        try lock.release()
    }
    try waiter.start()
    demoSleep(.milliseconds(500))  // pacing only: let the reader see the waiter wait
    print("main: killing the holder with SIGKILL")
    try holder.kill()
    try waiter.join()
    try holder.join()
    print("holder exit code \(holder.exitCode!), waiter exit code \(waiter.exitCode!)")
    // end cell
}

/// `swift run chapter4 exited-holder`
let exitedHolderCell = Cell("exited-holder", "A holder that ends without releasing", exitedHolder)

nonisolated func exitedHolder() throws {
    // cell: exited-holder
    let lock = try Lock()
    let holder = ChildProcess(name: "holder") {
        lock.acquire()
        print("holder (pid \(getpid())): I took the lock, and I end without releasing it")
    }
    try holder.start()
    try holder.join()
    print("main: the holder has ended with code \(holder.exitCode!); lock still locked? \(lock.isLocked)")
    lock.acquire()  // the holder is gone: this acquire takes the lock over
    print("main: got the lock, \(lock.recovery.map { "\($0)" } ?? "normally")")
    try lock.release()
    print("main: released it; recovery after the release: \(lock.recovery.map { "\($0)" } ?? "none")")
    // end cell
}
