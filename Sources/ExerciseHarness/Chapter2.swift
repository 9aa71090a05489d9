import BookKit
import ExerciseKit

let chapter2: [ExerciseInfo] = [
    ExerciseInfo(
        "2.1", "start-the-worker", "Start the worker",
        summary: "make a ChildProcess's closure run in a child process, then wait for it",
        minutes: 5,
        checked: "the worker's task is done once, in a child process, and the worker is joined",
        hints: [
            "Making a ChildProcess forks nothing yet.",
            "Two calls: one forks and runs the closure in the child, one waits for the child to end.",
            "`try worker.start()` then `try worker.join()`.",
        ],
        why: """
            start() (Python's Process.start) forks; the closure runs in the new process. join() waits for
            it to end and reaps it. Calling run() yourself runs the closure in main, like any function.
            """,
        starterFailure: "tasks never done: 0",
        judge: { o in
            o.eachTaskOnce([0]) + o.tasksInChildren() + o.noChildrenLeft("join the worker")
        }),
]
