import Multiprocessing
import Notebook

/// `swift run chapter7 ping-pong`
let pingPongCell = Cell("ping-pong", "A counter bounced between two processes", pingPong)

nonisolated func pingPong() throws {
    // cell: ping-pong
    let (mine, theirs) = try Connection<Int>.makePipe()
    let partner = ChildProcess(name: "pong") {
        mine.close()  // its copy of main's end: keeping it, it would never see end of file
        while true {
            let count: Int
            do throws(ConnectionError) {
                count = try theirs.receive()
            } catch .endOfFile {
                break  // main has closed its end: the game is over
            }  // any other error is a real failure, and ends the process with that error
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
    print("final count: \(count), partner's exit code: \(partner.exitCode!)")
    // end cell
}

/// `swift run chapter7 round-trip`
let roundTripCell = Cell("round-trip", "How long a round trip takes", roundTrip)

nonisolated func roundTrip() throws {
    // cell: round-trip
    let (mine, theirs) = try Connection<Int>.makePipe()
    let echo = ChildProcess(name: "echo") {
        mine.close()
        while true {
            let number: Int
            do throws(ConnectionError) { number = try theirs.receive() } catch .endOfFile { break }
            try theirs.send(number)  // straight back
        }
    }
    try echo.start()
    theirs.close()
    let clock = ContinuousClock()
    let trips = 5_000
    let tripsTook = try clock.measure {
        for number in 0..<trips {
            try mine.send(number)
            _ = try mine.receive()
        }
    }
    mine.close()
    try echo.join()

    let starts = 50
    let startsTook = try clock.measure {
        for _ in 0..<starts {
            let child = ChildProcess {}  // does nothing: only the cost of a process
            try child.start()
            try child.join()
        }
    }
    let trip = tripsTook / trips
    let start = startsTook / starts
    func microseconds(_ duration: Duration) -> Int { Int((duration / .microseconds(1)).rounded()) }
    print("one round trip: ~\(microseconds(trip)) µs (the mean of \(trips))")
    print("starting and joining a process: ~\(microseconds(start)) µs (the mean of \(starts))")
    print("a round trip costs less than a fifth of a process start: \(trip * 5 < start)")
    // end cell
}
