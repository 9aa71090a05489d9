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
    ExerciseInfo(
        "2.2", "retry-the-failed", "Retry the task that failed",
        summary: "find the worker that failed by its exit code and run its task again in a new process",
        minutes: 10,
        checked: "tasks 0 to 3 each succeed exactly once, all in child processes",
        hints: [
            "A worker whose closure throws ends with exit code 1; one that succeeds, with 0.",
            "After the joins, look at each worker's `exitCode`.",
            "For each worker with `exitCode != 0`, start and join `ChildProcess { try Kit.flakyTask(item) }`.",
        ],
        why: """
            The exit code (Python's Process.exitcode) is how a parent learns how a child ended: 0 for success,
            non-zero for a failure, negative for a signal. It is the only news of a failure that crosses
            from child to parent without a queue or pipe.
            """,
        starterFailure: "never done: 2",
        judge: { o in o.eachTaskOnce([0, 1, 2, 3]) + o.tasksInChildren() + o.noChildrenLeft("join every process") }),
    ExerciseInfo(
        "2.3", "run-or-start", "run() or start()?",
        summary: "find the bug: a ChildProcess subclass does its work, but in main and one at a time",
        minutes: 5,
        checked: "tasks 0 to 2 each done once, in child processes, at least two of them at the same time",
        hints: [
            "run() is the method a child calls. Who is calling it here?",
            "start() forks; the child then calls run().",
            "Start all three, then join all three.",
        ],
        why: """
            Overriding run() says what the child does (Python's Process.run); start() makes the child that
            calls it. Calling run() yourself is an ordinary method call in the calling process.
            """,
        starterFailure: "not in a child process",
        judge: { o in
            var problems = o.eachTaskOnce([0, 1, 2]) + o.tasksInChildren() + o.noChildrenLeft("join every squarer")
            if problems.isEmpty && o.highWater < 2 {
                problems.append("the tasks ran one at a time (never two at once): start all before joining any")
            }
            return problems
        }),
]
