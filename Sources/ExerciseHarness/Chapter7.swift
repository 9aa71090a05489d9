import BookKit
import ExerciseKit

let chapter7: [ExerciseInfo] = [
    ExerciseInfo(
        "7.1", "hello-through-a-pipe", "A result through a pipe",
        summary: "send a worker's result to main through a pipe",
        minutes: 5,
        checked: "main receives the result that Kit.work returned in the worker",
        hints: [
            "Each process uses its own end: the worker workerEnd, main mainEnd.",
            "One send in the worker, one receive in main.",
            "Worker: `try workerEnd.send(result)`. main: `Kit.received(try mainEnd.receive())`.",
        ],
        why: """
            Pipe() (Python's multiprocessing.Pipe) gives two connected ends; what one end sends, the other
            receives, whole, across the fork. receive waits until a message is there.
            """,
        starterFailure: "main never received",
        judge: { o in o.eachReceivedOnce([1]) + o.tasksInChildren() }),
    ExerciseInfo(
        "7.2", "close-unused-ends", "Close the unused ends",
        summary: "main reads to end of file, which never comes; close the writing end that main still holds",
        minutes: 10,
        checked: "the program ends within 6 s and main receives the poet's 5 results, each once",
        hints: [
            "End of file comes when every copy of the writing end is closed. How many copies are there?",
            "The fork copied `writer` into the poet; main still holds its own.",
            "After `poet.start()`, call `writer.close()` in main (and `reader.close()` in the poet).",
        ],
        why: """
            A fork duplicates every open end. The reader sees end of file only when all copies of the writer
            are closed, main's included; a reader that also holds a writer waits for itself for ever.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in o.eachReceivedOnce(Array(0..<5)) + o.tasksInChildren() }),
    ExerciseInfo(
        "7.3", "ping-pong", "Ping-pong",
        summary: "find the bug: two processes each wait for the other to send first",
        minutes: 10,
        checked: "the program ends within 6 s and steps 1 to 10 are each done once, odd ones in the partner, "
            + "even ones in main",
        hints: [
            "Who sends the first message?",
            "Both start with receive(), so both wait.",
            "Send 0 from main before its loop.",
        ],
        why: """
            A conversation over a pipe needs one side to speak first; if both begin by receiving, each waits
            for the other for ever. Sending the first value from main starts the rally.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in
            var problems = o.eachTaskOnce(Array(1...10), noun: "step")
            let root = o.evidence[Slot.rootPid]
            let wrongPlace = (1...10).filter { step in
                let pid = o.evidence[Slot.taskPid + step]
                return pid != 0 && (step % 2 == 0) != (pid == root)
            }
            if !wrongPlace.isEmpty { problems.append("steps done by the wrong process: \(list(wrongPlace))") }
            return problems
        }),
]
