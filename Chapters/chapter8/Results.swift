import Multiprocessing
import Notebook

/// `swift run chapter8 async-results`
let asyncResultsCell = Cell("async-results", "Collecting AsyncResults", asyncResults)

nonisolated func asyncResults() throws {
    // cell: async-results
    let go = try Event()
    let pool = try Pool(processes: 2) { (n: Int) -> Int in
        go.wait()
        return n * n
    }
    let results = try (1...5).map { try pool.applyAsync($0) }
    print("ready right after applyAsync: \(results.map(\.isReady))")
    do {
        _ = try results[0].get(timeout: .milliseconds(200))
    } catch {
        print("get(timeout: .milliseconds(200)): \(error)")
    }
    go.set()
    print("squares: \(try results.map { try $0.get() })")
    print("ready now: \(results.map(\.isReady)); successful: \(try results.map { try $0.isSuccessful })")
    pool.close()
    try pool.join()
    // end cell
}

/// `swift run chapter8 callbacks`
let callbacksCell = Cell("callbacks", "Callbacks: told when a result arrives", callbacks)

nonisolated func callbacks() throws {
    // cell: callbacks
    let pool = try Pool(processes: 2) { (word: String) -> Int in word.count }
    let results = try ["pool", "worker", "zygote"].map { word in
        try pool.applyAsync(word, onSuccess: { letters in print("callback: \(word) has \(letters) letters") })
    }
    for result in results { result.wait() }  // each callback has run once its result is ready
    print("main: every result is ready")
    pool.close()
    try pool.join()
    // end cell
}
