// Exercise 1.2: Print it once (chapter 1, "Buffered output is copied by fork")
//
// When output goes into a pipe or a file (as in the check), print only fills a buffer; the buffer
// is written out later. The bare fork() below copies the whole process, unwritten buffer included,
// so the first line comes out twice. Make it come out once; the child keeps its task.
//
// Check: swift run exercises check 1.2
import ExerciseKit
import Glibc

public func exercise() throws {
    print("hello from before the fork")  // into the buffer, not yet written
    let pid = fork()
    if pid == 0 {
        Kit.task(0)  // the child's work
        Kit.flushStandardOutput()  // the child writes out its copy of the buffer
        _exit(0)
    }
    waitpid(pid, nil, 0)
    print("parent: the child has ended")
}
