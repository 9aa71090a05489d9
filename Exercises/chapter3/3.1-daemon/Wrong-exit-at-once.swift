// Exercise 3.1, a plausible wrong solution: ending the program with _exit skips the wait, and
// leaves the heartbeat running, an orphan, after the program has gone.
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    let heartbeat = ChildProcess(name: "heartbeat") {
        while true { Kit.task(0, milliseconds: 20) }  // one beat
    }
    try heartbeat.start()
    for item in 1...4 { Kit.task(item, milliseconds: 100) }  // main's own work
    print("main: my work is done")
    _exit(0)
}
