// Exercise 9.2: Keep the crash in its process — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let jobs = [
        ChildProcess(name: "job 0") { Kit.task(0, milliseconds: 100) },
        ChildProcess(name: "job 1") { Kit.buggyJob() },  // crashes its own process only
        ChildProcess(name: "job 2") { Kit.task(2, milliseconds: 100) },
    ]
    for job in jobs { try job.start() }
    for job in jobs { try job.join() }  // reaps the crashed one too
    for job in jobs { print("\(job.name): \(job.exitStatus!)") }
    print("main: the jobs are over")
    Kit.task(3)  // main's own work, after the jobs
}
