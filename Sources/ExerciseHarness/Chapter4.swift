import BookKit
import ExerciseKit

let chapter4: [ExerciseInfo] = [
    ExerciseInfo(
        "4.1", "lost-update", "Fix the lost update",
        summary: "four processes add to a shared counter; protect the update with a Lock so none is lost",
        minutes: 10,
        checked: "4 workers × 25,000 increments: the counter read back from shared memory is 100,000, "
            + "after 100,000 writes",
        runs: 5, timeLimit: 30,
        hints: [
            "`counter.value += 1` is a read, then a write: another process can write in between.",
            "Make one Lock before the workers start, so that all of them share it.",
            "In the loop: `lock.withLock { counter.value += 1 }`.",
        ],
        why: """
            A Lock (Python's multiprocessing.Lock) lets one process at a time between acquire and release,
            so no other process can write between a read and its write. It must be made before the
            fork: a lock made inside each worker is a different lock per worker and stops nobody.
            """,
        starterFailure: "the counter ended at",
        judge: { o in
            let value = o.evidence[Slot.counter]
            let writes = o.evidence[Slot.counterWrites]
            var problems: [String] = []
            if writes != 100_000 { problems.append("the counter was written \(writes) times, not 100,000") }
            if value != 100_000 {
                problems.append(
                    "the counter ended at \(value), not 100,000: \(100_000 - value) updates were lost "
                        + "(two processes read the same value, and one write overwrote the other)")
            }
            return problems
        }),
    ExerciseInfo(
        "4.2", "whole-lines", "Keep every line whole",
        summary: "three writers' pieces of lines mix; let one writer at a time write a whole line",
        minutes: 10,
        checked: "15 lines, each whole, each writer's in order (compared as BookKit's mode=interleaved), "
            + "written by the writers",
        runs: 3,
        hints: [
            "A line is written in several pieces; between two pieces another writer can write.",
            "One Lock, made before the writers start, around each whole line.",
            "`lock.withLock { Kit.writeLine(…) }` inside the loop.",
        ],
        why: """
            A lock held for the whole line makes the line's pieces one unit: another writer waits until
            the line is complete. Lines of different writers may still come in any order: only each
            writer's own order is fixed.
            """,
        starterFailure: "the output differs",
        judge: { o in
            let expected = (1...3).flatMap { n in (1...5).map { "writer \(n): line \($0) of 5, written in pieces" } }
            var problems = o.output(matches: expected, mode: .interleaved)
            if o.evidence[Slot.childrenLeft] > 0 { problems.append("some writers were not joined") }
            let written = o.evidence[Slot.linesWrittenInChildren]
            if written != 15 {
                problems.append("\(written) of the 15 lines were written by Kit.writeLine in the writers")
            }
            return problems
        }),
    ExerciseInfo(
        "4.3", "release-every-time", "Release on every path",
        summary: "find the bug: a `continue` skips the release, and the program waits for ever",
        minutes: 10,
        checked: "the program ends within 6 s, and every item but 3, 7 and 11 is done once, in the workers",
        hints: [
            "Follow item 3: where does the lock get released?",
            "A lock acquired and never released makes every later acquire wait for ever.",
            "Put the item's work in `lock.withLock { … }` and use `return` to skip: withLock releases on every path.",
        ],
        why: """
            acquire/release pairs break on every early exit (continue, return, throw). withLock releases
            however its closure ends, the way Python's `with lock:` does.
            """,
        starterFailure: "did not finish in 6 s",
        judge: { o in o.eachTaskOnce([0, 1, 2, 4, 5, 6, 8, 9, 10], noun: "item") + o.tasksInChildren() }),
]
