import BookKit
import ExerciseKit

let chapter1: [ExerciseInfo] = [
    ExerciseInfo(
        "1.1", "reap-the-zombie", "Reap the zombie",
        summary: "a forked child ends at once; make its parent wait for it so it does not stay a zombie",
        minutes: 5,
        checked: "the child's task is done once, in the child, and no child of main is left when exercise() returns",
        hints: [
            "A child that has ended stays in the process table (state Z) until its parent asks how it ended.",
            "forkProcess() gave you the child's pid; the call that waits for a pid is in the chapter.",
            "Add `_ = try waitForProcess(child)` after the print.",
        ],
        why: """
            waitForProcess (Python's os.waitpid) blocks until the child has ended and collects its exit status;
            only then can the kernel forget the child. Sleeping lets the child end, but it stays a zombie
            until someone waits for it.
            """,
        starterFailure: "had not been waited for",
        judge: { o in
            o.eachTaskOnce([0]) + o.tasksInChildren() + o.noChildrenLeft("reap the child with waitForProcess(child)")
        }),
    ExerciseInfo(
        "1.2", "printed-once", "Print it once",
        summary: "a line printed before a bare fork() comes out twice; make it come out once",
        minutes: 10,
        checked:
            "output (a pipe, so buffered) is exactly the two lines, and the child's task is done once, in the child",
        hints: [
            "The line is still in the output buffer at the fork, and fork copies the buffer.",
            "Write the buffer out before the fork, so that the child's copy is empty.",
            "Call `Kit.flushStandardOutput()` just before `fork()` (forkProcess() does this for you).",
        ],
        why: """
            print into a pipe or file only fills a buffer. fork copies the process with that buffer, so parent
            and child would each write it out. Flushing before the fork empties the buffer first; the
            runtime's forkProcess() (like Python's os.fork) flushes for you.
            """,
        starterFailure: "the output differs",
        judge: { o in
            o.output(matches: ["hello from before the fork", "parent: the child has ended"], mode: .exact)
                + o.eachTaskOnce([0]) + o.tasksInChildren()
        }),
    ExerciseInfo(
        "1.3", "wait-for-every-child", "Wait for every child",
        summary: "find the bug: three children are forked, but not all of them are waited for",
        minutes: 10,
        checked:
            "tasks 0, 1 and 2 are each done once, in children, and no child is left unreaped when exercise() returns",
        hints: [
            "How many pids does the loop remember?",
            "Keep every child's pid, in an array.",
            "Wait for each pid of the array with waitForProcess, after the loop.",
        ],
        why: """
            Each fork makes a child that must be reaped by its own pid. Keeping only the last pid forgets the
            others: they end, and stay zombies until the program exits. Waiting after starting all of them
            also lets the three run at once.
            """,
        starterFailure: "had not been waited for",
        judge: { o in
            o.eachTaskOnce([0, 1, 2]) + o.tasksInChildren() + o.noChildrenLeft("wait for each child's pid")
        }),
]
