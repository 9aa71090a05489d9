// Exercise 9.3: A time limit for a runaway job — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let job = ChildProcess(name: "runaway") { Kit.runawayJob() }
    try job.start()
    if try !job.join(timeout: .milliseconds(500)) {  // false: still running after 0.5 s
        try job.terminate()  // SIGTERM: the kernel ends it wherever it is
        try job.join()  // reaps it
    }
    print("main: the job \(job.exitStatus!)")
}
