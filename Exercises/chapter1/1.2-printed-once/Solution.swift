// Exercise 1.2: Print it once — a reference solution.
import ExerciseKit
import Glibc

public func exercise() throws {
    print("hello from before the fork")  // into the buffer, not yet written
    Kit.flushStandardOutput()  // written now: the child gets an empty buffer
    let pid = fork()
    if pid == 0 {
        Kit.task(0)  // the child's work
        Kit.flushStandardOutput()  // the child writes out its copy of the buffer
        _exit(0)
    }
    waitpid(pid, nil, 0)
    print("parent: the child has ended")
}
