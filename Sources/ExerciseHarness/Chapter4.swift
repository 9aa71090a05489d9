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
]
