// Exercise 9.3, a plausible wrong solution: main stops waiting for the thread and returns; the
// program's end takes the thread with it, but nothing gave the job a time limit or stopped it.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    _ = PosixThread<Void> { Kit.runawayJob() }
    print("main: not waiting for the job")
}
