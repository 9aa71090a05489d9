import Multiprocessing
import Notebook

/// `swift run chapter7 ping-pong`
let pingPongCell = Cell("ping-pong", "A counter bounced between two processes", pingPong)

nonisolated func pingPong() throws {
    // cell: ping-pong
    let (mine, theirs) = try Connection<Int>.makePipe()
    let partner = ChildProcess(name: "pong") {
        mine.close()  // its copy of main's end: keeping it, it would never see end of file
        while let count = try? theirs.receive() {  // until end of file
            print("pong: \(count) → \(count + 1)")
            try theirs.send(count + 1)
        }
    }
    try partner.start()
    theirs.close()
    var count = 0
    for _ in 1...3 {
        print("ping: \(count) → \(count + 1)")
        try mine.send(count + 1)
        count = try mine.receive()
    }
    mine.close()  // end of file for the partner, which leaves its loop and exits
    try partner.join()
    print("final count: \(count)")
    // end cell
}
