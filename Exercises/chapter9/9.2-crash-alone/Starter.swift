// Exercise 9.2: Keep the crash in its process (chapter 9, "What processes buy: a crash stays in its
// process")
//
// Three jobs run on threads; job 1 has a bug that crashes the process it runs in. On a thread, that
// is main's process: the program dies and main never does its own task 3. Run each job in a child
// process of its own, so that only job 1's process dies; then main goes on. Print how each job
// ended (exitStatus).
//
// Check: swift run exercises check 9.2
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let jobs = [
        PosixThread { Kit.task(0, milliseconds: 100) },
        PosixThread { Kit.buggyJob() },  // crashes the process that runs it
        PosixThread { Kit.task(2, milliseconds: 100) },
    ]
    for job in jobs { job.join() }
    print("main: the jobs are over")
    Kit.task(3)  // main's own work, after the jobs
}
