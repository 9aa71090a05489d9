import BookKit
import ExerciseKit

let chapter5: [ExerciseInfo] = [
    ExerciseInfo(
        "5.1", "at-most-two", "At most two inside",
        summary: "six workers at once; let at most two of them run the task at the same time",
        minutes: 10,
        checked: "6 tasks of 300 ms, each done once in a child; the most running at once, counted by the "
            + "check's own counter, is exactly 2",
        hints: [
            "A Lock lets one in; you need something that lets in two.",
            "A CountingSemaphore made with value 2, before the workers start.",
            "In the worker: `slots.withAcquired { Kit.task(item, milliseconds: 300) }`.",
        ],
        why: """
            A counting semaphore (Python's multiprocessing.Semaphore) holds a number of free places: acquire
            takes one or waits for one, release gives it back. With 2 places two workers run together and
            the third waits; a Lock is a semaphore of one place.
            """,
        starterFailure: "at the same moment",
        judge: { o in
            var problems = o.eachTaskOnce(Array(0..<6)) + o.tasksInChildren() + o.noChildrenLeft("join every worker")
            if o.highWater > 2 {
                problems.append("\(o.highWater) workers ran the task at the same moment: at most 2 may")
            } else if o.highWater < 2 {
                problems.append("never 2 workers ran the task at the same moment: let two in at once, not one")
            }
            return problems
        }),
    ExerciseInfo(
        "5.2", "bounded-buffer", "The bounded buffer",
        summary: "a producer and a slower consumer share a buffer of 3; make each wait with empty/full semaphores",
        minutes: 20,
        checked: "items 1 to 12 each taken by the consumer exactly once (none overwritten, none taken twice)",
        runs: 2,
        hints: [
            "The producer must wait while all 3 places are filled; the consumer while none is.",
            "`empty` = CountingSemaphore(value: 3) counts free places; `full` = CountingSemaphore(value: 0) counts items.",
            "Producer: `empty.acquire()` before writing, `try full.release()` after. Consumer: `full.acquire()` "
                + "before reading, `try empty.release()` after.",
        ],
        why: """
            Each semaphore counts one thing: free places and filled places. Every put takes a free place and
            gives a filled one; every get the reverse. So the producer can never be more than 3 ahead and
            the consumer never ahead at all, however fast each one runs.
            """,
        starterFailure: "never done",
        judge: { o in o.eachTaskOnce(Array(1...12), noun: "item") + o.noChildrenLeft("join both") }),
    ExerciseInfo(
        "5.3", "wait-for-go", "Wait for the go",
        summary: "workers use data that main is still preparing; make them wait for main's go with an Event",
        minutes: 10,
        checked: "3 tasks done once each in the workers, none of them before Kit.prepare() finished",
        hints: [
            "The workers start at once; nothing tells them the data is ready.",
            "An Event made before the workers start: workers wait on it, main sets it.",
            "`go.wait()` before Kit.useData in the worker; `go.set()` after Kit.prepare() in main.",
        ],
        why: """
            An Event (Python's multiprocessing.Event) is a shared flag: wait() blocks until some process calls
            set(), then every waiter goes on. It orders "after main's preparation" without guessing a time.
            """,
        starterFailure: "before the data was ready",
        judge: { o in
            var problems = o.eachTaskOnce([0, 1, 2]) + o.tasksInChildren()
            let early = o.evidence[Slot.usedBeforeReady]
            if early > 0 { problems.append("\(early) worker(s) used the data before the data was ready") }
            return problems
        }),
]
