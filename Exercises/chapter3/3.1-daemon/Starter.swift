// Exercise 3.1: Let the heartbeat die with the program (chapter 3, "Daemonic children die with the
// parent")
//
// The heartbeat process beats for ever. main does its own work and returns, but the program never
// ends: at exit it waits for its children, and this one never ends. Make the heartbeat stop on its
// own when the program ends, without changing its loop.
//
// Check: swift run exercises check 3.1
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let heartbeat = ChildProcess(name: "heartbeat") {
        while true { Kit.task(0, milliseconds: 20) }  // one beat
    }
    try heartbeat.start()
    for item in 1...4 { Kit.task(item, milliseconds: 100) }  // main's own work
    print("main: my work is done")
}
