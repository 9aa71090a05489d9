import Foundation
import Multiprocessing

/// What each worker reports. Foundation's `Date` is Codable, so it crosses processes as it is.
struct Report: Codable, Sendable {
    var worker: String
    var finished: Date
}

// Three child processes, each a fork of this program, report through a queue they all share.
let reports = try Queue<Report>()
let workers = (1...3).map { _ in
    ChildProcess { try reports.put(Report(worker: currentProcess().name, finished: Date())) }
}
for worker in workers { try worker.start() }
for worker in workers { try worker.join() }
var names: [String] = []
while let report = try reports.tryGet() { names.append(report.worker) }
let json = try JSONEncoder().encode(names.sorted())
print(String(decoding: json, as: UTF8.self))  // ["Process-1","Process-2","Process-3"]

// A pool of two worker processes maps a function over inputs, keeping their order.
let pool = try Pool(processes: 2) { (word: String) in word.uppercased() }
print(try pool.map(["fork", "join", "pool"]))  // ["FORK", "JOIN", "POOL"]
pool.close()
try pool.join()

// Foundation's Process runs another program; ChildProcess (above) runs a closure in a copy of this one.
let echo = Foundation.Process()
echo.executableURL = URL(fileURLWithPath: "/bin/echo")
echo.arguments = ["echo ran in another program"]
let output = Foundation.Pipe()
echo.standardOutput = output
try echo.run()
let text = output.fileHandleForReading.readDataToEndOfFile()
echo.waitUntilExit()
print(String(decoding: text, as: UTF8.self), terminator: "")  // echo ran in another program
