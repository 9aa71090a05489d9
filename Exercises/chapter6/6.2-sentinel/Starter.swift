// Exercise 6.2: Stop the consumers (chapter 6, "Shutting down with a sentinel")
//
// Two consumers take jobs from a queue until they get nil. main puts 20 jobs, then waits for the
// consumers, which wait for more jobs for ever. Tell each consumer that there is no more work.
//
// Check: swift run exercises check 6.2
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
    // TODO: tell the consumers there is no more work.
    for consumer in consumers { try consumer.join() }
}
