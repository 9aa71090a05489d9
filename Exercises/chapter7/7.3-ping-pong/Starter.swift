// Exercise 7.3: Ping-pong (chapter 7, "A counter bounced between two processes")
//
// Find the bug: main and the partner should bounce a counter through the pipe, each adding one, up
// to 10 (the partner does the odd steps, main the even ones). The program never ends.
//
// Check: swift run exercises check 7.3
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    let (mainEnd, partnerEnd) = try Connection<Int>.makePipe()
    let partner = ChildProcess(name: "partner") {
        while true {
            let n = try partnerEnd.receive()
            if n >= 10 { break }
            Kit.task(n + 1)
            try partnerEnd.send(n + 1)
        }
    }
    try partner.start()
    while true {
        let n = try mainEnd.receive()
        Kit.task(n + 1)
        try mainEnd.send(n + 1)
        if n + 1 >= 10 { break }
    }
    try partner.join()
}
