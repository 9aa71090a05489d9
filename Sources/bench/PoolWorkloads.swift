// Pool: map (default chunks and chunk size 1), many applyAsync, and start-up to shut-down.

import Multiprocessing

/// Each workload makes its pool before the clock starts (except `pool_startup`, which measures it)
/// and shuts it down after; the default number of workers, as Python's `Pool()`.
let poolWorkloads = [
    Workload(
        name: "pool_map", title: "Pool.map, tiny items", unit: .perSecond,
        operations: 200_000, quickOperations: 1_000
    ) { count in
        let pool = try Pool { (x: Int) -> Int in x &* x }
        defer { pool.terminate() }
        _ = try pool.map(0..<(4 * pool.processes))  // the workers are up
        var result: [Int] = []
        let elapsed = try seconds { result = try pool.map(0..<count) }
        try expect(result.count == count && result.last == (count - 1) * (count - 1), "wrong map result")
        return elapsed
    },
    Workload(
        name: "pool_map_chunk1", title: "Pool.map, chunk size 1", unit: .perSecond,
        operations: 20_000, quickOperations: 200
    ) { count in
        let pool = try Pool { (x: Int) -> Int in x &* x }
        defer { pool.terminate() }
        _ = try pool.map(0..<(4 * pool.processes))
        var result: [Int] = []
        let elapsed = try seconds { result = try pool.map(0..<count, chunkSize: 1) }
        try expect(result.count == count && result.last == (count - 1) * (count - 1), "wrong map result")
        return elapsed
    },
    Workload(
        name: "pool_apply_async", title: "Pool.applyAsync + get, tiny tasks", unit: .perSecond,
        operations: 20_000, quickOperations: 200
    ) { count in
        let pool = try Pool { (x: Int) -> Int in x &* x }
        defer { pool.terminate() }
        _ = try pool.map(0..<(4 * pool.processes))
        var total = 0
        let elapsed = try seconds {
            let results = try (0..<count).map { try pool.applyAsync($0) }
            for result in results { total &+= try result.get() }
        }
        try expect(total == (0..<count).reduce(0) { $0 &+ $1 &* $1 }, "wrong sum")
        return elapsed
    },
    Workload(
        name: "pool_startup", title: "Pool start + 1 task + close/join", unit: .milliseconds,
        operations: 50, quickOperations: 3
    ) { count in
        try seconds {
            for _ in 0..<count {
                let pool = try Pool { (x: Int) -> Int in x &* x }
                try expect(try pool.apply(3) == 9, "wrong result")
                pool.close()
                try pool.join()
            }
        }
    },
]
