// Tracing's cost: the contended lock and Pool.map again, with a trace recording every event
// (Tracing.start before the objects are made, so every process records). Beside the untraced rows
// of the same names, they show what a trace costs; the trace is discarded, not written.

import Multiprocessing

/// Runs `body` with a trace on, checks that it recorded at least `expected` events and lost none,
/// and returns what `body` returned.
private func traced(capacity: Int, expected: Int, _ body: () throws -> Double) throws -> Double {
    try Tracing.start(writingTo: "/dev/null", capacity: capacity)
    let elapsed: Double
    do {
        elapsed = try body()
    } catch {
        _ = Tracing.stopDiscarding()
        throw error
    }
    let (recorded, dropped) = Tracing.stopDiscarding() ?? (0, 0)
    try expect(dropped == 0, "the trace dropped \(dropped) events")
    try expect(recorded >= expected, "the trace kept \(recorded) events, fewer than \(expected)")
    return elapsed
}

let traceWorkloads = [
    Workload(
        name: "lock_contended_traced", title: "Lock contended, 2 proc., traced", unit: .perSecond,
        operations: 1_000_000, quickOperations: 1_000, hasTwin: false
    ) { count in
        // One event per hold (acquire to release), one more for a wait that went to sleep.
        try traced(capacity: 2 * count + 1024, expected: count) {
            try syncWorkloads[0].run(count)
        }
    },
    Workload(
        name: "pool_map_traced", title: "Pool.map, tiny items, traced", unit: .perSecond,
        operations: 200_000, quickOperations: 1_000, hasTwin: false
    ) { count in
        try traced(capacity: 1 << 20, expected: 1) {
            try poolWorkloads[0].run(count)
        }
    },
]
