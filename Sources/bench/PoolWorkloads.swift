// Pool: map (default chunks and chunk size 1), many applyAsync, start-up to shut-down, 64 KiB items,
// and how CPU-bound work scales with the number of workers.

import Glibc
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
    Workload(
        name: "pool_map_64k", title: "Pool.map, 64 KiB items", unit: .perSecond,
        operations: 1_000, quickOperations: 20
    ) { count in
        // Each worker sends its item back: 64 KiB in and 64 KiB out per item.
        let pool = try Pool { (item: [UInt8]) -> [UInt8] in item }
        defer { pool.terminate() }
        _ = try pool.map((0..<(4 * pool.processes)).map { _ in [UInt8(1)] })
        let items = (0..<count).map { index in
            var item = [UInt8](repeating: 7, count: 64 << 10)
            stamp(&item, index)
            return item
        }
        var result: [[UInt8]] = []
        let elapsed = try seconds { result = try pool.map(items) }
        try expect(
            result.count == count && result.indices.allSatisfy { isStamped(result[$0], $0, size: 64 << 10) },
            "wrong map result")
        return elapsed
    },
]

/// What one CPU-bound item costs: this thread's CPU time advances by 1 ms (limit.c and twin.py burn
/// the same), so Swift, C and Python do the same work whatever their speed at arithmetic.
func burnOneMillisecond(_ item: Int) -> Int {
    func cpuNanoseconds() -> Int {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return time.tv_sec * 1_000_000_000 + time.tv_nsec
    }
    let until = cpuNanoseconds() + 1_000_000
    var x = UInt64(truncatingIfNeeded: item)
    repeat {
        for _ in 0..<1000 { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
    } while cpuNanoseconds() < until
    keep(x)
    return item &* item
}

/// Keeps the optimizer from dropping the arithmetic above (only the CPU time counts).
@_optimize(none) private func keep(_ value: UInt64) {}

/// Pool.map of 1 ms CPU-bound items on 1 … N workers (N = cpuCount()): the first row in items per
/// second, the others as the speed-up over it; beside N C processes doing the same.
let cpuScalingWorkloads: [Workload] = (1...max(1, cpuCount())).map { workers in
    Workload(
        name: "pool_cpu_\(workers)", title: "Pool.map CPU ×\(workers) worker\(workers == 1 ? "" : "s")",
        unit: .perSecond, operations: 200, quickOperations: 4, limit: Limit("pool_cpu", workers),
        baseline: workers == 1 ? nil : "pool_cpu_1"
    ) { count in
        let pool = try Pool(processes: workers) { (item: Int) -> Int in burnOneMillisecond(item) }
        defer { pool.terminate() }
        _ = try pool.map(0..<(4 * workers))  // the workers are up
        var result: [Int] = []
        let elapsed = try seconds { result = try pool.map(0..<count) }
        try expect(result == (0..<count).map { $0 * $0 }, "wrong map result")
        return elapsed
    }
}
