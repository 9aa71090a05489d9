import Multiprocessing
import Notebook

/// `swift run chapter8 map`
let mapListCell = Cell("map", "map: a whole list, results in order", mapList)

nonisolated func mapList() throws {
    // cell: map
    let sites = [
        "https://www.python.org", "https://www.swift.org", "https://www.kernel.org",
        "https://www.debian.org", "https://www.gnu.org", "https://www.postgresql.org",
    ]
    let pool = try Pool(processes: 3) { (url: String) -> String in
        let host = url.dropFirst("https://".count)  // local work: no network in this book
        let vowels = host.filter { "aeiou".contains($0) }.count
        return "\(host): \(host.count) letters, \(vowels) vowels"
    }
    for line in try pool.map(sites) { print(line) }
    pool.close()
    try pool.join()

    let squarer = try Pool(processes: 3) { (n: Int) -> Int in n * n }
    let numbers = Array(1...100_000)
    let squares = try squarer.map(numbers)  // 12 chunks: ⌈100,000 / (4 × 3 workers)⌉ numbers each
    print("100,000 squares, same as computed here: \(squares == numbers.map { $0 * $0 })")
    squarer.close()
    try squarer.join()
    // end cell
}

/// `swift run chapter8 imap`
let imapOrdersCell = Cell("imap", "imap keeps input order, imapUnordered does not wait", imapOrders)

nonisolated func imapOrders() throws {
    // cell: imap
    let slowMayFinish = try Event()
    let pool = try Pool(processes: 2) { (job: String) -> String in
        if job == "slow" { slowMayFinish.wait() }
        return job.uppercased()
    }
    let jobs = ["slow", "quick 1", "quick 2", "quick 3"]

    var seen = 0
    for outcome in try pool.imapUnordered(jobs) {
        print("imapUnordered: \(try outcome.get())")
        seen += 1
        if seen == 3 { slowMayFinish.set() }  // every quick one is in: now let the slow one finish
    }

    slowMayFinish.clear()
    let ordered = try pool.imap(jobs)  // the slow one is running again
    slowMayFinish.set()
    for outcome in ordered { print("imap: \(try outcome.get())") }
    pool.close()
    try pool.join()
    // end cell
}
