import BookKit
import ExerciseKit

let chapter3: [ExerciseInfo] = [
    ExerciseInfo(
        "3.1", "daemon", "Let the heartbeat die with the program",
        summary: "a heartbeat process runs for ever; make it stop by itself when the program ends",
        minutes: 5,
        checked: "the program ends within 6 s, main's 4 tasks are done, the heartbeat beat in a child, "
            + "and no process is left running",
        timeLimit: 6,
        hints: [
            "At its end a program waits for each child that is not a daemon.",
            "A daemonic child is stopped when the program ends; which ChildProcess argument says daemon?",
            "`ChildProcess(name: \"heartbeat\", daemon: true) { … }`.",
        ],
        why: """
            A daemonic child (Python's daemon=True) is terminated when its parent's program ends, so the
            program does not wait for it. Leaving with _exit skips that too, and the heartbeat goes on
            running as an orphan.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in
            var problems = o.eachTaskOnce([1, 2, 3, 4], noun: "main task")
            if o.evidence[Slot.tasks] == 0 { problems.append("the heartbeat never beat") }
            return problems
        }),
    ExerciseInfo(
        "3.2", "start-all-then-join", "Start all, then join",
        summary: "find the bug: four 400 ms workers take 1.6 s because each is joined before the next starts",
        minutes: 5,
        checked: "4 tasks of 400 ms, each done once in a child: all 4 running at the same moment, "
            + "exercise() done in under 1.2 s, every worker joined",
        hints: [
            "join waits until that worker has ended. What has not been started yet while main waits?",
            "Use two loops.",
            "First loop: start every worker. Second loop: join every worker.",
        ],
        why: """
            join blocks main until that child ends; inside the start loop it keeps the next child from
            starting. Starting all first lets them run at once; joining afterwards waits for the slowest.
            Sleeping instead of joining guesses at a time and leaves the children unreaped.
            """,
        starterFailure: "at the same moment",
        judge: { o in
            var problems = o.eachTaskOnce([0, 1, 2, 3]) + o.tasksInChildren() + o.noChildrenLeft("join every worker")
            if o.highWater < 4 {
                problems.append("at most \(o.highWater) worker(s) were running at the same moment, not 4")
            }
            if o.elapsed >= 1.2 {
                problems.append("exercise() took \(format(o.elapsed)) s: four 400 ms tasks at once take about 0.4 s")
            }
            return problems
        }),
    ExerciseInfo(
        "3.3", "give-up-waiting", "Give up waiting",
        summary: "a worker gets stuck; wait at most half a second, then stop it and reap it",
        minutes: 10,
        checked: "the program ends within 6 s, the worker's task is done, and the worker is reaped",
        hints: [
            "join() waits for ever; there is a join that gives up.",
            "`join(timeout:)` returns false when the worker is still running.",
            "`if try !worker.join(timeout: .milliseconds(500)) { try worker.terminate(); try worker.join() }`",
        ],
        why: """
            join(timeout:) (Python's join(timeout)) stops waiting; it does not stop the child. terminate()
            sends SIGTERM, and the join after it reaps the child, whose exit status then names the signal.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in o.eachTaskOnce([0]) + o.noChildrenLeft("after terminate(), join the worker") }),
]
