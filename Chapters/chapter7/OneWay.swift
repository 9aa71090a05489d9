import Multiprocessing
import Notebook

/// `swift run chapter7 one-way`
let oneWayCell = Cell("one-way", "A one-way pipe", oneWay)

nonisolated func oneWay() throws {
    // cell: one-way
    let (reader, writer) = try Connection<Int>.makePipe(duplex: false)  // (receiving end, sending end)
    let squarer = ChildProcess(name: "squarer") {
        reader.close()  // this process only writes
        for number in 1...5 { try writer.send(number * number) }
    }
    try squarer.start()
    writer.close()  // this process only reads
    var squares: [Int] = []
    for _ in 1...5 { squares.append(try reader.receive()) }
    print("main received \(squares)")
    do {
        try reader.send(36)
    } catch {
        print("reader.send(36): \(error)")
    }
    try squarer.join()
    // end cell
}
