// Exercise 6.3: Drain, then join — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let results = try Queue<Int>(maxSize: 5)
    let producer = ChildProcess(name: "producer") {
        for item in 0..<40 { try results.put(Kit.work(item)) }
    }
    try producer.start()
    for _ in 0..<40 { Kit.received(try results.get()) }  // each get makes room for the next put
    try producer.join()  // it can end now: everything it put has been taken
}
