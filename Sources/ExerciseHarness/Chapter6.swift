import BookKit
import ExerciseKit

let chapter6: [ExerciseInfo] = [
    ExerciseInfo(
        "6.1", "results-through-a-queue", "Results through a queue",
        summary: "workers append results to a plain array that main never sees; send them through a Queue",
        minutes: 10,
        checked: "main receives the 4 results that Kit.work returned in the workers, each once",
        hints: [
            "After the fork each child has its own copy of `results`.",
            "A Queue made before the workers start is shared: workers put, main gets.",
            "Worker: `try results.put(Kit.work(n))`. main: `for _ in 1...4 { Kit.received(try results.get()) }`.",
        ],
        why: """
            Memory is copied at fork, not shared: an append in a child changes the child's copy only. A
            Queue (Python's multiprocessing.Queue) carries values between processes; get waits until one
            is there, so main needs no sleep.
            """,
        starterFailure: "main never received",
        judge: { o in o.eachReceivedOnce([1, 2, 3, 4]) + o.eachTaskOnce([1, 2, 3, 4]) + o.tasksInChildren() }),
    ExerciseInfo(
        "6.2", "sentinel", "Stop the consumers",
        summary: "consumers wait for jobs for ever; stop each with a sentinel (nil) after the work",
        minutes: 10,
        checked: "the program ends within 6 s and jobs 0 to 19 are each done once, in the consumers",
        hints: [
            "A consumer stops when it gets nil from the queue.",
            "Each consumer takes one nil and stops: how many nils are needed?",
            "After the jobs: `for _ in consumers { try jobs.put(nil) }`.",
        ],
        why: """
            A sentinel is an item that means "no more work". Put after all the jobs, it arrives after them
            (the queue keeps order), and each consumer consumes exactly one, so one per consumer stops all.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in o.eachTaskOnce(Array(0..<20), noun: "job") + o.tasksInChildren() }),
    ExerciseInfo(
        "6.3", "drain-before-join", "Drain, then join",
        summary: "find the bug: main joins a producer that is waiting for room in a full queue",
        minutes: 10,
        checked: "the program ends within 6 s and main receives all 40 results, each once",
        hints: [
            "The queue holds 5. Where is the producer when main calls join?",
            "The producer waits for room; main waits for the producer: each waits for the other.",
            "Get the 40 results first, then join.",
        ],
        why: """
            put blocks while the queue is full, so a producer cannot end before someone reads. Joining it
            first waits for ever (a deadlock). Reading first makes room; once everything is read the
            producer ends and the join returns at once.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in o.eachReceivedOnce(Array(0..<40)) + o.tasksInChildren() }),
]
