import Multiprocessing
import Notebook

/// `swift run chapter6 many-producers`
let manyProducersCell = Cell("many-producers", "Several producers, one consumer", manyProducers)

nonisolated func manyProducers() throws {
    // cell: many-producers
    let queue = try Queue<String>()
    let producers = ["A", "B", "C"].map { name in
        ChildProcess(name: "producer \(name)") {
            for number in 1...3 {
                try queue.put("\(name)\(number)")
                demoSleep(.milliseconds(100))
            }
        }
    }
    for producer in producers { try producer.start() }
    for _ in 1...9 {
        let item = try queue.get()
        print("\(item.first!): got \(item)")
    }
    for producer in producers { try producer.join() }
    // end cell
}

/// `swift run chapter6 sentinel`
let sentinelCell = Cell("sentinel", "Shutting down with a sentinel", sentinel)

nonisolated func sentinel() throws {
    // cell: sentinel
    let jobs = try Queue<Int?>()  // nil means "no more work"
    let results = try Queue<Int>()
    let workers = (1...2).map { number in
        ChildProcess(name: "worker \(number)") {
            while let job = try jobs.get() {
                try results.put(job * 10)
            }
            print("worker \(number): got the sentinel, stopping")
        }
    }
    for worker in workers { try worker.start() }
    for job in 1...10 { try jobs.put(job) }
    for _ in workers { try jobs.put(nil) }  // one sentinel per worker, after all the work
    for worker in workers { try worker.join() }
    var total = 0
    while !results.isEmpty { total += try results.get() }
    print("main: all workers stopped; results add up to \(total)")
    // end cell
}
