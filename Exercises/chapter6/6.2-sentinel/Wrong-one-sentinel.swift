// Exercise 6.2, a plausible wrong solution: one sentinel stops one consumer; the other waits on.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let jobs = try Queue<Int?>()  // nil means "no more work"
    let consumers = (1...2).map { number in
        ChildProcess(name: "consumer \(number)") {
            while let job = try jobs.get() { Kit.task(job, milliseconds: 10) }
        }
    }
    for consumer in consumers { try consumer.start() }
    for job in 0..<20 { try jobs.put(job) }
    try jobs.put(nil)
    for consumer in consumers { try consumer.join() }
}
