// The pid log for the book's checker: every pid a chapter run creates, so that the checker can
// replace them in the output with stable placeholders. The runtime records nothing itself; the
// runner asks it to report each fork.

import BookProtocol
import Glibc
import Multiprocessing

/// When `MP_PID_LOG` names a file: logs this process's pid now, and every child's pid as it is
/// forked, by this process or any descendant (the observer is inherited across fork).
/// Called once, first thing in `runChapter`, before any fork and while there is one thread.
func startPidLog() {
    guard let path = ProcessIO.environment(BookEnvironment.pidLog) else { return }
    BookEnvironment.appendPid(getpid(), toLog: path)
    ProcessTable.install(ForkObserver { child in BookEnvironment.appendPid(child, toLog: path) })
}
