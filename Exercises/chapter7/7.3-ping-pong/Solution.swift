// Exercise 7.3: Ping-pong — a reference solution.
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
    try mainEnd.send(0)  // someone must serve first, or both wait to receive
    while true {
        let n = try mainEnd.receive()
        Kit.task(n + 1)
        try mainEnd.send(n + 1)
        if n + 1 >= 10 { break }
    }
    try partner.join()
}
