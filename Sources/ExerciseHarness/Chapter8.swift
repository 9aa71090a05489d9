import BookKit
import ExerciseKit

let chapter8: [ExerciseInfo] = [
    ExerciseInfo(
        "8.1", "apply-async", "Submit them all",
        summary: "turn apply in a loop into applyAsync, so that the pool's 3 workers run at once",
        minutes: 10,
        checked: "main receives the 6 results, each once; 3 tasks run at the same moment; exercise() takes "
            + "under 1.4 s (one at a time takes 1.8 s)",
        hints: [
            "apply returns only when its result is there; the next task waits for it.",
            "applyAsync returns at once with an AsyncResult; get() on it waits.",
            "`let pending = try (0..<6).map { try pool.applyAsync($0) }`, then `get()` each.",
        ],
        why: """
            applyAsync (Python's apply_async) queues the task and returns; the pool hands queued tasks to
            idle workers, so all three work at once. get() waits only for the result you ask for.
            """,
        starterFailure: "at the same moment",
        judge: { o in
            var problems = o.eachReceivedOnce(Array(0..<6)) + o.tasksInChildren()
            if o.highWater < 3 { problems.append("at most \(o.highWater) task(s) ran at the same moment, not 3") }
            if o.elapsed >= 1.4 {
                problems.append("exercise() took \(format(o.elapsed)) s; 3 at a time take about 0.6 s")
            }
            return problems
        }),
    ExerciseInfo(
        "8.2", "survive-a-crash", "Keep the results when a worker crashes",
        summary: "a worker is killed by task 5 and map throws; collect results one by one and keep the other 7",
        minutes: 15,
        checked: "exercise() returns normally and main receives the results of tasks 0 to 7 except 5, each once",
        hints: [
            "map gives all results or throws: one failure loses them all.",
            "applyAsync gives one AsyncResult per task; each get() can fail alone.",
            "Put each `Kit.received(try result.get())` in its own do/catch.",
        ],
        why: """
            A pool replaces a worker that dies, and only the task it was running fails (PoolError.workerDied).
            Taking results one at a time (applyAsync, or imap's per-item results) turns one crash into one
            missing result instead of none.
            """,
        starterFailure: "exercise() threw",
        judge: { o in o.eachReceivedOnce([0, 1, 2, 3, 4, 6, 7]) + o.tasksInChildren() }),
    ExerciseInfo(
        "8.3", "reuse-workers", "A pool instead of a process per task",
        summary: "eight tasks run in eight forked processes; use a Pool of 3 and map instead",
        minutes: 10,
        checked: "main receives the 8 results, each once, and at most 3 processes did the 8 tasks",
        hints: [
            "A Pool forks its workers once and gives each several tasks.",
            "`Pool(processes: 3) { (n: Int) -> Int in Kit.work(n, milliseconds: 50) }`.",
            "`for result in try pool.map(Array(0..<8)) { Kit.received(result) }`, then close() and join().",
        ],
        why: """
            Forking costs time and memory per process; a pool (Python's multiprocessing.Pool) keeps a few
            workers and feeds them tasks. map splits the list among them and returns results in input order.
            """,
        starterFailure: "different processes did the 8 tasks",
        judge: { o in
            var problems = o.eachReceivedOnce(Array(0..<8)) + o.tasksInChildren()
            let pids = Set((0..<8).map { o.evidence[Slot.taskPid + $0] })
            if pids.count > 3 {
                problems.append("\(pids.count) different processes did the 8 tasks; a pool of 3 uses at most 3")
            }
            return problems
        }),
]
