import BookKit
import ExerciseKit

let chapter3: [ExerciseInfo] = [
    ExerciseInfo(
        "3.1", "daemon", "Let the heartbeat die with the program",
        summary: "a heartbeat process runs for ever; make it stop by itself when the program ends",
        minutes: 5,
        checked: "the program ends within 8 s, main's 4 tasks are done, the heartbeat beat in a child, "
            + "and no process is left running",
        timeLimit: 8,
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
        starterFailure: "did not finish in 8 s",
        judge: { o in
            var problems = o.eachTaskOnce([1, 2, 3, 4], noun: "main task")
            if o.evidence[Slot.tasks] == 0 { problems.append("the heartbeat never beat") }
            return problems
        }),
]
