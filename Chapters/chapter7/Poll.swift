import Multiprocessing
import Notebook

/// `swift run chapter7 poll`
let pollDemoCell = Cell("poll", "poll: is there a message?", pollDemo)

nonisolated func pollDemo() throws {
    // cell: poll
    let (mine, theirs) = try Connection<String>.makePipe()
    let echo = ChildProcess(name: "echo") {
        let question = try theirs.receive()
        try theirs.send("echo of \(question)")
    }
    try echo.start()
    print("a message already? \(try mine.poll())")  // no timeout: look and return at once
    try mine.send("hello?")
    print("a message within 5 s? \(try mine.poll(timeout: .seconds(5)))")
    print("poll took nothing away: \(try mine.receive())")
    print("another message? \(try mine.poll())")
    try echo.join()
    // end cell
}
