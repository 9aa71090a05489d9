import Multiprocessing
import Notebook

/// `swift run chapter9 start-cost`
let startCostCell = Cell("start-cost", "What starting a worker costs", startCost)

nonisolated func startCost() throws {
    // cell: start-cost
    let count = 20
    let (_, threadsTime) = timed {
        for _ in 0..<count { PosixThread {}.join() }
    }
    let (_, processesTime) = try timed {
        for _ in 0..<count {
            let process = ChildProcess {}
            try process.start()
            try process.join()
        }
    }
    print("start and join \(count) threads, one after another:   \(threadsTime)")
    print("start and join \(count) processes, one after another: \(processesTime)")
    // end cell
}

/// `swift run chapter9 copying`
let copyingCell = Cell("copying", "What sending data to a process costs", copying)

nonisolated func copying() throws {
    // cell: copying
    let (mine, theirs) = try Connection<[Int]>.makePipe()
    let summer = ChildProcess(name: "summer") {
        let numbers = try theirs.receive()
        try theirs.send([numbers.reduce(0, +)])
    }
    try summer.start()  // started first: only the sending is timed

    let numbers = Array(1...1_000_000)  // made after the fork: the child has no copy
    let (threadSum, threadTime) = timed { PosixThread { numbers.reduce(0, +) }.join() }
    print("a thread summed the numbers where they are: \(threadSum)  \(threadTime)")
    let (childSum, childTime) = try timed {
        try mine.send(numbers)  // encoded, written into the pipe, read and decoded there
        return try mine.receive()[0]
    }
    print("the child got a copy through a pipe, summed: \(childSum)  \(childTime)")
    try summer.join()
    // end cell
}
