import Multiprocessing
import Notebook

// cell: count-primes
/// The CPU-bound job: counts the primes below `limit`, testing each number by trial division.
/// Worker `part` of `parts` takes every `parts`-th block of 1000 numbers, so that each worker gets
/// a fair share of the small numbers (quick to test) and the large ones (slow).
nonisolated func countPrimes(below limit: Int, part: Int = 0, of parts: Int = 1) -> Int {
    var count = 0
    for blockStart in stride(from: part * 1000, to: limit, by: parts * 1000) {
        for n in blockStart..<min(blockStart + 1000, limit) where isPrime(n) { count += 1 }
    }
    return count
}

nonisolated func isPrime(_ n: Int) -> Bool {
    if n < 2 { return false }
    var divisor = 2
    while divisor * divisor <= n {
        if n % divisor == 0 { return false }
        divisor += 1
    }
    return true
}
// end cell

/// `swift run chapter9 three-ways`
let threeWaysCell = Cell("three-ways", "One job: one process, two threads, two processes", threeWays)

nonisolated func threeWays() throws {
    // cell: three-ways
    let limit = 300_000
    let workers = 2
    let (alone, aloneTime) = timed { countPrimes(below: limit) }
    print("1 process, 1 thread:   \(alone) primes  \(aloneTime)")

    let counts = try RawSharedArray<Int>(count: workers)  // one slot per worker
    let (_, threadsTime) = timed {
        let threads = (0..<workers).map { part in
            PosixThread { counts[part] = countPrimes(below: limit, part: part, of: workers) }
        }
        for thread in threads { thread.join() }
    }
    print("1 process, \(workers) threads:  \(counts.elements.reduce(0, +)) primes  \(threadsTime)")

    for part in 0..<workers { counts[part] = 0 }
    let (_, processesTime) = try timed {
        let processes = (0..<workers).map { part in
            ChildProcess { counts[part] = countPrimes(below: limit, part: part, of: workers) }
        }
        for process in processes { try process.start() }
        for process in processes { try process.join() }
    }
    print("\(workers) processes:           \(counts.elements.reduce(0, +)) primes  \(processesTime)")
    // end cell
}
