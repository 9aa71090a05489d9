// Exercise 3.3: Give up waiting — a reference solution.
import ExerciseKit
import Glibc
import Multiprocessing

public func exercise() throws {
    let worker = ChildProcess(name: "worker") {
        Kit.task(0)
        while true { pause() }  // stuck: waits for a signal, for ever
    }
    try worker.start()
    if try !worker.join(timeout: .milliseconds(500)) {  // false: still running after 0.5 s
        try worker.terminate()  // SIGTERM
        try worker.join()  // reaps it
    }
    print("main: the worker \(worker.exitStatus.map { "\($0)" } ?? "is still running")")
}
