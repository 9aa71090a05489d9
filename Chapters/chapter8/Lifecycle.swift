import Multiprocessing
import Notebook

/// `swift run chapter8 fresh-workers`
let freshWorkersCell = Cell("fresh-workers", "initializer and maxTasksPerChild", freshWorkers)

nonisolated func freshWorkers() throws {
    // cell: fresh-workers
    let pool = try Pool(
        processes: 1, maxTasksPerChild: 2,
        initializer: {
            print("initializer: \(currentProcess().name) is ready")
        }
    ) { (_: Int) -> String in currentProcess().name }
    print("tasks ran in: \(try pool.map(1...5, chunkSize: 1))")
    pool.close()
    try pool.join()
    // end cell
}

/// `swift run chapter8 terminate`
let terminateQueuedCell = Cell("terminate", "terminate with 10,000 tasks queued", terminateQueued)

nonisolated func terminateQueued() throws {
    // cell: terminate
    let never = try Event()
    let pool = try Pool(processes: 2) { (n: Int) -> Int in
        never.wait()  // stuck for ever: only terminate() can end these workers
        return n
    }
    let results = try (0..<10_000).map { try pool.applyAsync($0) }
    let started = ContinuousClock.now
    pool.terminate()
    let took = ContinuousClock.now - started
    let terminated = results.filter { result in
        do throws(PoolError) { _ = try result.get(timeout: .zero) } catch { return error == .terminated }
        return false
    }
    print("terminate returned in under a second: \(took < .seconds(1))")
    print("tasks failed with '\(PoolError.terminated)': \(terminated.count) of \(results.count)")
    do {
        _ = try pool.apply(1)
    } catch {
        print("afterwards: \(error)")
    }
    // end cell
}

/// `swift run chapter8 close-join`
let closeThenJoinCell = Cell("close-join", "close, then join", closeThenJoin)

nonisolated func closeThenJoin() throws {
    // cell: close-join
    let pool = try Pool(processes: 2) { (n: Int) -> Int in
        demoSleep(.milliseconds(200))
        return n * 2
    }
    let results = try (1...4).map { try pool.applyAsync($0) }
    do {
        try pool.join()
    } catch {
        print("join before close: \(error)")
    }
    pool.close()  // no more work; what is queued still runs
    do {
        _ = try pool.apply(5)
    } catch {
        print("apply after close: \(error)")
    }
    try pool.join()  // waits for the queued work and for the workers to exit
    print("after join: \(try results.map { try $0.get(timeout: .zero) }), every task finished")
    // end cell
}
