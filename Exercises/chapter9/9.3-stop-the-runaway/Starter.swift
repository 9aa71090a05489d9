// Exercise 9.3: A time limit for a runaway job (chapter 9, "Stopping a worker from outside")
//
// The job never ends, and it never checks for a request to stop. On a thread, nothing can stop it:
// join() waits for ever. Run it in a child process instead, wait at most half a second for it, then
// stop it and reap it.
//
// Check: swift run exercises check 9.3
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let job = PosixThread<Void> { Kit.runawayJob() }  // a job that never ends
    job.join()
    print("main: the job is over")
}
