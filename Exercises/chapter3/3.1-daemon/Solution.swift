// Exercise 3.1: Let the heartbeat die with the program — a reference solution.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let heartbeat = ChildProcess(name: "heartbeat", daemon: true) {  // stopped when the program ends
        while true { Kit.task(0, milliseconds: 20) }  // one beat
    }
    try heartbeat.start()
    for item in 1...4 { Kit.task(item, milliseconds: 100) }  // main's own work
    print("main: my work is done")
}
