// Queue throughput: small Ints from producer processes to one consumer (the parent).

import Multiprocessing

/// `producers` children put `count` Ints in all (0..<count, split in contiguous runs); the parent
/// gets them all and checks the sum. The time includes starting and joining the producers.
private func queueThroughput(producers: Int, count: Int) throws -> Double {
    let queue = try Queue<Int>()
    let share = count / producers
    return try seconds {
        let children = (0..<producers).map { index in
            ChildProcess {
                let end = index == producers - 1 ? count : (index + 1) * share
                for value in index * share..<end { try queue.put(value) }
            }
        }
        for child in children { try child.start() }
        var total = 0
        for _ in 0..<count { total &+= try queue.get() }
        for child in children { try child.join() }
        try expect(children.allSatisfy { $0.exitCode == 0 }, "a producer failed")
        try expect(total == count * (count - 1) / 2, "the sum of the items is wrong: \(total)")
    }
}

let queueWorkloads = [
    Workload(
        name: "queue_1to1", title: "Queue 1 producer → 1 consumer", unit: .perSecond,
        operations: 200_000, quickOperations: 1_000, limit: Limit("queue_1to1")
    ) { count in
        try queueThroughput(producers: 1, count: count)
    },
    Workload(
        name: "queue_4to1", title: "Queue 4 producers → 1 consumer", unit: .perSecond,
        operations: 200_000, quickOperations: 1_000, limit: Limit("queue_4to1")
    ) { count in
        try queueThroughput(producers: 4, count: count)
    },
]
