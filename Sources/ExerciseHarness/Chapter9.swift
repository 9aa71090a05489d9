import BookKit
import ExerciseKit

let chapter9: [ExerciseInfo] = [
    ExerciseInfo(
        "9.1", "send-it-back", "The write main never sees",
        summary: "a child sets an ordinary variable and main still reads 0; put the result in shared memory",
        minutes: 5,
        checked: "the worker's task is done in a child process and main receives its result (a number only "
            + "Kit.work knows), once",
        hints: [
            "At the fork the child gets a copy of main's memory: its write changes its copy only.",
            "Memory shared on purpose carries a change back: chapter 4's RawSharedValue.",
            "`let result = try RawSharedValue(0)` before the worker; `result.value = Kit.work(…)` in it; "
                + "`Kit.received(result.value)` after join().",
        ],
        why: """
            A child process has its own copy of every variable, made at the fork; what it writes there
            vanishes with it. RawSharedValue (Python's multiprocessing.RawValue) lives in memory mapped
            shared before the fork, so both processes see the one number. A Queue or a pipe would carry
            it back too. A thread would see the write, but then the work no longer runs in a process.
            """,
        starterFailure: "its own copy",
        judge: { o in
            let problems = o.eachTaskOnce([0]) + o.tasksInChildren()
            if o.evidence[Slot.receivedZero] > 0 {
                return problems + [
                    "main received 0, the variable's value before the fork: the child's write went to its own copy"
                ]
            }
            return problems + o.eachReceivedOnce([0])
        }),
    ExerciseInfo(
        "9.2", "crash-alone", "Keep the crash in its process",
        summary: "one of three jobs crashes and, on a thread, takes the whole program down; run each job in "
            + "a process of its own",
        minutes: 10,
        checked: "exercise() returns normally; jobs 0 and 2 are done in child processes, the buggy job 1 "
            + "crashed a child process, main's own task 3 is done after them, and every child is reaped",
        hints: [
            "A crash ends the process it happens in, every thread with it.",
            "Make each job a ChildProcess instead of a PosixThread: start all three, then join all three.",
            "After join(), `worker.exitStatus` says how each ended: the buggy one was killed by a signal.",
        ],
        why: """
            A process that crashes ends alone: its parent only learns how it ended, from its exit status
            (killed by SIGKILL here). A thread shares its process's fate: one bad thread ends them all.
            Isolation is what processes buy in Swift, where threads run in parallel just as well.
            """,
        starterFailure: "killed by signal 9",
        judge: { o in
            let root = o.evidence[Slot.rootPid]
            var problems = o.eachTaskOnce([0, 2, 3], noun: "task")
            let crashed = o.evidence[Slot.crashedPid]
            if crashed == 0 { problems.append("the buggy job (Kit.buggyJob) never ran") }
            if crashed == root { problems.append("the buggy job ran in main's process, and crashed it") }
            let inMain = [0, 2].filter { o.evidence[Slot.tasks + $0] > 0 && o.evidence[Slot.taskPid + $0] == root }
            if !inMain.isEmpty {
                problems.append("job(s) \(list(inMain)) ran in main's process (main or its threads), not in a child")
            }
            if o.evidence[Slot.tasks + 3] > 0 && o.evidence[Slot.taskPid + 3] != root {
                problems.append("task 3 is main's own: do it in main, after the jobs")
            }
            return problems + o.noChildrenLeft("join every worker, the crashed one too")
        }),
    ExerciseInfo(
        "9.3", "stop-the-runaway", "A time limit for a runaway job",
        summary: "a job on a thread never ends and nothing can stop it; run it in a process, give it 0.5 s, "
            + "then terminate it",
        minutes: 10,
        checked: "the program ends within 6 s, exercise() takes under 3 s, the runaway job ran in a child "
            + "process, and that child was stopped and reaped",
        hints: [
            "A thread cannot be stopped from outside; a process can: terminate() sends it SIGTERM.",
            "Run the job in a ChildProcess and wait with join(timeout:), which returns false if it still runs.",
            "`if try !job.join(timeout: .milliseconds(500)) { try job.terminate(); try job.join() }`",
        ],
        why: """
            The kernel can end a process wherever it is: terminate() (Python's Process.terminate()) sends
            SIGTERM, and the join after it reaps the child. A thread must notice a request and end itself;
            a loop that never looks cannot be stopped, so a time limit needs a process.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in
            let root = o.evidence[Slot.rootPid]
            var problems: [String] = []
            let runaway = o.evidence[Slot.runawayPid]
            if runaway == 0 { problems.append("the runaway job (Kit.runawayJob) never ran") }
            if runaway == root {
                problems.append(
                    "the runaway job ran on a thread of main's process: nothing stopped it, the program's end did")
            }
            if o.elapsed >= 3 {
                problems.append("exercise() took \(format(o.elapsed)) s; with a 0.5 s limit it takes about 0.5 s")
            }
            return problems + o.noChildrenLeft("after terminate(), join the job's process")
        }),
    ExerciseInfo(
        "9.4", "fork-before-threads", "Fork before threads",
        summary: "find the bug: workers are forked while a ticker thread holds the log's lock, and may hang",
        minutes: 10,
        checked: "the 3 workers' tasks are done in child processes, the ticker writes its 20 lines, no process "
            + "is forked while a PosixThread runs, and the runtime prints no fork warning",
        hints: [
            "Read the warning on standard error: what was running when main forked?",
            "fork copies only the calling thread: a lock the ticker held is copied held, for ever.",
            "Start the ticker after `for worker in workers { try worker.start() }` (or join it before).",
        ],
        why: """
            fork copies memory, not threads: a lock another thread held at that instant stays held in the
            child, with nobody to release it. Forking before any thread starts (or after they end) leaves
            nothing held. Silencing the warning hides it; the hang stays.
            """,
        starterFailure: "forked while",
        judge: { o in
            var problems = o.eachTaskOnce([0, 1, 2], noun: "worker task") + o.tasksInChildren()
            let forks = o.evidence[Slot.forksBesideThreads]
            if forks > 0 { problems.append("main forked while a PosixThread was running (\(forks) time(s))") }
            if let warning = runtimeWarning(o.run.stderr) { problems.append("the runtime warned: " + warning) }
            if o.evidence[Slot.logHeldInChild] > 0 {
                problems.append("\(o.evidence[Slot.logHeldInChild]) worker(s) found the log's lock held at their start")
            }
            if o.evidence[Slot.logLinesInMain] < 20 {
                problems.append("the ticker wrote \(o.evidence[Slot.logLinesInMain]) of its 20 lines")
            }
            return problems
        }),
]

/// The runtime's fork warning on standard error, shortened to its first clause, or nil.
func runtimeWarning(_ stderr: String) -> String? {
    guard let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix("Multiprocessing: warning:") })
    else { return nil }
    let text = line.dropFirst("Multiprocessing: warning: ".count)
    return String(text.split(separator: ";").first ?? text)
}
