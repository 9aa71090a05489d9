// Exercise 3.3: Give up waiting (chapter 3, "join(timeout:) gives up waiting, not the child")
//
// The worker does its task, then gets stuck for ever. main waits for it, so the program never ends.
// Wait at most half a second; if the worker is still alive then, stop it, and reap it.
//
// Check: swift run exercises check 3.3
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    let worker = ChildProcess(name: "worker") {
        Kit.task(0)
        while true { pause() }  // stuck: waits for a signal, for ever
    }
    try worker.start()
    try worker.join()
    print("main: the worker \(worker.exitStatus.map { "\($0)" } ?? "is still running")")
}
