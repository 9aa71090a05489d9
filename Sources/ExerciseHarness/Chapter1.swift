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
]
