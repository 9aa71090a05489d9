import Multiprocessing
import Notebook

/// Prints `text` one word at a time: each word is its own write to standard output, and the writer
/// pauses between words, as a slow writer would. Another process can write between two words.
nonisolated func sayWordByWord(_ text: String, pause: Duration = .milliseconds(10)) {
    let words = text.split(separator: " ", omittingEmptySubsequences: false)
    for (index, word) in words.enumerated() {
        print(index == 0 ? word : " " + word, terminator: "")
        flushStandardOutput()
        demoSleep(pause)
    }
}

/// `swift run chapter4 garbled`
let garbledCell = Cell("garbled", "Without a lock, output can mix", garbled)

nonisolated func garbled() throws {
    // cell: garbled
    let firstIsHalfWay = try Event()
    let secondIsDone = try Event()
    let first = ChildProcess(name: "first") {
        sayWordByWord("first: the quick brown")
        firstIsHalfWay.set()
        secondIsDone.wait()  // forces the unlucky moment: the other writes now
        sayWordByWord(" fox jumps\n")
    }
    let second = ChildProcess(name: "second") {
        firstIsHalfWay.wait()
        sayWordByWord("second: hello world\n")
        secondIsDone.set()
    }
    for writer in [first, second] { try writer.start() }
    for writer in [first, second] { try writer.join() }
    // end cell
}

/// `swift run chapter4 clean`
let cleanCell = Cell("clean", "With a lock, every line stays whole", clean)

nonisolated func clean() throws {
    // cell: clean
    let lock = try Lock()
    let firstIsHalfWay = try Event()
    let secondHasTried = try Event()
    let first = ChildProcess(name: "first") {
        lock.withLock {
            sayWordByWord("first: the quick brown")
            firstIsHalfWay.set()
            secondHasTried.wait()  // the other writer is ready now, but must wait for the lock
            sayWordByWord(" fox jumps\n")
        }
    }
    let second = ChildProcess(name: "second") {
        firstIsHalfWay.wait()
        let wasFree = lock.tryAcquire()  // takes the lock only if it is free; false here
        secondHasTried.set()
        lock.withLock { sayWordByWord("second: hello world\n") }
        print("second: was the lock free when I came? \(wasFree)")
    }
    for writer in [first, second] { try writer.start() }
    for writer in [first, second] { try writer.join() }
    // end cell
}

/// `swift run chapter4 many-writers`
let manyWritersCell = Cell("many-writers", "Many writers, one lock", manyWriters)

nonisolated func manyWriters() throws {
    // cell: many-writers
    let lock = try Lock()
    let writers = (1...3).map { number in
        ChildProcess(name: "writer \(number)") {
            for line in 1...3 {
                lock.withLock { sayWordByWord("writer \(number): line \(line), written word by word\n") }
            }
        }
    }
    for writer in writers { try writer.start() }
    for writer in writers { try writer.join() }
    // end cell
}
