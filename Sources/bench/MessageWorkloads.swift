// Pipe round trips and one-way streams, and the codec alone.

import Multiprocessing

/// A small message: what a typical task or result looks like.
struct Item: Codable, Equatable, Sendable {
    var id: Int
    var name: String
    var score: Double
}

/// Round trips of an Int through a child that adds one: duplex uses one socketpair, simplex two pipes.
private func pingPong(duplex: Bool, count: Int) throws -> Double {
    let parentSide: (receive: Connection<Int>, send: Connection<Int>)
    let childSide: (receive: Connection<Int>, send: Connection<Int>)
    if duplex {
        let (a, b) = try Connection<Int>.makePipe(duplex: true)
        parentSide = (a, a)
        childSide = (b, b)
    } else {
        let (toChildReader, toChildWriter) = try Connection<Int>.makePipe(duplex: false)
        let (toParentReader, toParentWriter) = try Connection<Int>.makePipe(duplex: false)
        parentSide = (toParentReader, toChildWriter)
        childSide = (toChildReader, toParentWriter)
    }
    let child = ChildProcess {
        for _ in 0..<count { try childSide.send.send(try childSide.receive.receive() + 1) }
    }
    try child.start()
    let elapsed = try seconds {
        for value in 0..<count {
            try parentSide.send.send(value)
            let answer = try parentSide.receive.receive()
            try expect(answer == value + 1, "ping-pong answered \(answer) to \(value)")
        }
    }
    try child.join()
    try expect(child.exitCode == 0, "the ping-pong child exited with \(String(describing: child.exitCode))")
    return elapsed
}

/// `count` messages of 1 KiB one way; the child checks each and exits 0 if all arrived whole.
private func oneWay(duplex: Bool, count: Int) throws -> Double {
    let (receiver, sender) = try Connection<[UInt8]>.makePipe(duplex: duplex)
    let message = [UInt8](repeating: 7, count: 1024)
    let child = ChildProcess {
        for _ in 0..<count where try receiver.receive().count != 1024 { exitProcess(3) }
    }
    try child.start()
    let elapsed = try seconds {
        for _ in 0..<count { try sender.send(message) }
        try child.join()
    }
    try expect(child.exitCode == 0, "the receiving child exited with \(String(describing: child.exitCode))")
    return elapsed
}

let messageWorkloads = [
    Workload(
        name: "pipe_pingpong_duplex", title: "Pipe ping-pong, duplex", unit: .microseconds,
        operations: 20_000, quickOperations: 100, limit: Limit("pingpong_duplex")
    ) { try pingPong(duplex: true, count: $0) },
    Workload(
        name: "pipe_pingpong_simplex", title: "Pipe ping-pong, simplex", unit: .microseconds,
        operations: 20_000, quickOperations: 100, limit: Limit("pingpong_simplex")
    ) { try pingPong(duplex: false, count: $0) },
    Workload(
        name: "pipe_1k_duplex", title: "Pipe 1 KiB one-way, duplex", unit: .perSecond,
        operations: 200_000, quickOperations: 1_000, limit: Limit("stream_duplex", 1024)
    ) { try oneWay(duplex: true, count: $0) },
    Workload(
        name: "pipe_1k_simplex", title: "Pipe 1 KiB one-way, simplex", unit: .perSecond,
        operations: 200_000, quickOperations: 1_000, limit: Limit("stream_simplex", 1024)
    ) { try oneWay(duplex: false, count: $0) },
    Workload(
        name: "codec_roundtrip", title: "Codec encode+decode, small struct", unit: .nanoseconds,
        operations: 200_000, quickOperations: 1_000
    ) { count in
        let item = Item(id: 42, name: "widget", score: 0.5)
        let encoder = BinaryEncoder()
        let decoder = BinaryDecoder()
        var last = item
        let elapsed = try seconds {
            for index in 0..<count {
                var copy = item
                copy.id = index
                last = try decoder.decode(Item.self, from: try encoder.encode(copy))
            }
        }
        try expect(last == Item(id: count - 1, name: "widget", score: 0.5), "the codec changed the item: \(last)")
        return elapsed
    },
]
