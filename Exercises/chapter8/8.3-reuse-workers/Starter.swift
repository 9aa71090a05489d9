// Exercise 8.3: A pool instead of a process per task (chapter 8, "map: a whole list, results in
// order")
//
// Eight tasks, eight processes: one fork per task. Do the same work with a Pool of 3 processes and
// map, which reuses its workers; give each result to Kit.received.
//
// Check: swift run exercises check 8.3
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let results = try Queue<Int>()
    let workers = (0..<8).map { n in
        ChildProcess(name: "task \(n)") { try results.put(Kit.work(n, milliseconds: 50)) }
    }
    for worker in workers { try worker.start() }
    for _ in 0..<8 { Kit.received(try results.get()) }
    for worker in workers { try worker.join() }
}
