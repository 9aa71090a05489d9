// Big messages: 64 KiB, 1 MiB and 16 MiB byte arrays through a Pipe (duplex and simplex) and a Queue.

import Multiprocessing

/// Stamps message `index` at both ends, so a lost, repeated or torn message shows (limit.c and
/// twin.py stamp theirs the same way).
func stamp(_ message: inout [UInt8], _ index: Int) {
    message[0] = UInt8(truncatingIfNeeded: index)
    message[message.count - 1] = UInt8(truncatingIfNeeded: index >> 8)
}

/// Whether `message` is message `index` of `size` bytes.
func isStamped(_ message: [UInt8], _ index: Int, size: Int) -> Bool {
    message.count == size && message[0] == UInt8(truncatingIfNeeded: index)
        && message[size - 1] == UInt8(truncatingIfNeeded: index >> 8)
}

/// `count` messages of `size` bytes one way to a child that checks each (as the 1 KiB rows do);
/// the clock runs until the child has exited.
private func bigOneWay(duplex: Bool, size: Int, count: Int) throws -> Double {
    let (receiver, sender) = try Connection<[UInt8]>.makePipe(duplex: duplex)
    let child = ChildProcess {
        for index in 0..<count where !isStamped(try receiver.receive(), index, size: size) { exitProcess(3) }
    }
    var message = [UInt8](repeating: 7, count: size)
    try child.start()
    let elapsed = try seconds {
        for index in 0..<count {
            stamp(&message, index)
            try sender.send(message)
        }
        try child.join()
    }
    try expect(child.exitCode == 0, "the receiving child exited with \(String(describing: child.exitCode))")
    return elapsed
}

/// One producer (started inside the clock, as in the small-item queue rows) puts `count` messages of
/// `size` bytes; the parent gets and checks them. The ring holds four messages.
private func bigQueue(size: Int, count: Int) throws -> Double {
    let queue = try Queue<[UInt8]>(capacity: max(Queue<[UInt8]>.defaultCapacity, 4 * size))
    return try seconds {
        let producer = ChildProcess {
            var message = [UInt8](repeating: 7, count: size)
            for index in 0..<count {
                stamp(&message, index)
                try queue.put(message)
            }
        }
        try producer.start()
        var inOrder = true
        for index in 0..<count where !isStamped(try queue.get(), index, size: size) { inOrder = false }
        try producer.join()
        try expect(inOrder && producer.exitCode == 0, "a message was wrong or the producer failed")
    }
}

/// The sizes, with their names, full and quick counts (about 300 MB a repetition at full size).
private let sizes = [
    (label: "64k", title: "64 KiB", bytes: 64 << 10, operations: 5_000, quick: 8),
    (label: "1m", title: "1 MiB", bytes: 1 << 20, operations: 300, quick: 4),
    (label: "16m", title: "16 MiB", bytes: 16 << 20, operations: 20, quick: 2),
]

/// Each Pipe row beside a C socket pair or pipe moving the same messages, each Queue row beside
/// memcpy of the same sizes (a shared-memory queue copies each item in and out).
let bigMessageWorkloads: [Workload] = sizes.flatMap { size in
    [
        Workload(
            name: "pipe_\(size.label)_duplex", title: "Pipe \(size.title) one-way, duplex", unit: .gigabytesPerSecond,
            operations: size.operations, quickOperations: size.quick, bytesPerOperation: size.bytes,
            limit: Limit("stream_duplex", size.bytes)
        ) { try bigOneWay(duplex: true, size: size.bytes, count: $0) },
        Workload(
            name: "pipe_\(size.label)_simplex", title: "Pipe \(size.title) one-way, simplex",
            unit: .gigabytesPerSecond, operations: size.operations, quickOperations: size.quick,
            bytesPerOperation: size.bytes, limit: Limit("stream_simplex", size.bytes)
        ) { try bigOneWay(duplex: false, size: size.bytes, count: $0) },
        Workload(
            name: "queue_\(size.label)", title: "Queue \(size.title) items, 1 → 1", unit: .gigabytesPerSecond,
            operations: size.operations, quickOperations: size.quick, bytesPerOperation: size.bytes,
            limit: Limit("memcpy", size.bytes)
        ) { try bigQueue(size: size.bytes, count: $0) },
    ]
}
