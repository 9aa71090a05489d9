import Glibc
import Multiprocessing
import Notebook

/// `swift run chapter9 timeout`
let timeoutCell = Cell("timeout", "A process can be stopped from outside", timeout)

nonisolated func timeout() throws {
    // cell: timeout
    let runaway = ChildProcess(name: "runaway") {
        while true { _ = countPrimes(below: 1000) }  // a job that never ends
    }
    try runaway.start()
    let finished = try runaway.join(timeout: .milliseconds(500))
    print("runaway finished within 0.5 s: \(finished)")
    try runaway.terminate()
    try runaway.join()
    print("runaway: \(runaway.exitStatus!)")
    // end cell
}

/// `swift run chapter9 limits`
let limitsCell = Cell("limits", "Limits for one process", limits)

nonisolated func limits() throws {
    // cell: limits
    let resource = __rlimit_resource_t(RLIMIT_DATA.rawValue)  // the memory a process may allocate
    var mine = rlimit()
    getrlimit(resource, &mine)
    let limited = ChildProcess(name: "limited") {
        var limit = rlimit(rlim_cur: 256 << 20, rlim_max: 256 << 20)  // 256 MiB
        setrlimit(resource, &limit)
        let block = malloc(1 << 30)  // 1 GiB
        print("limited: malloc(1 GiB) -> \(block == nil ? "nil, refused" : "granted")")
        free(block)
    }
    try limited.start()
    try limited.join()
    var after = rlimit()
    getrlimit(resource, &after)
    print("main: my own limit is unchanged: \(after.rlim_cur == mine.rlim_cur && after.rlim_max == mine.rlim_max)")
    // end cell
}
