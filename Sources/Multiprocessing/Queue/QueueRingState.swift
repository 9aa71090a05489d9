// The queue ring's state as values: what its committed words say (see QueueRing.swift for why
// every operation changes exactly one of them), and how many ring bytes a record takes.

extension QueueRing {
    /// A committed position: how many items and how many bytes ever passed it (both wrapping).
    struct Position: Equatable {
        var items: UInt32
        var bytes: UInt32

        init(_ word: UInt64) {
            items = UInt32(truncatingIfNeeded: word >> 32)
            bytes = UInt32(truncatingIfNeeded: word)
        }

        init(items: UInt32, bytes: UInt32) {
            self.items = items
            self.bytes = bytes
        }

        var word: UInt64 { UInt64(items) << 32 | UInt64(bytes) }
    }

    /// Head and tail as they were at one moment.
    struct State {
        var head: Position
        var tail: Position
        var count: Int { Int(tail.items &- head.items) }
        var usedBytes: Int { Int(tail.bytes &- head.bytes) }
    }

    /// Ring bytes a record with a payload of `length` bytes takes: a 4-byte length, the payload,
    /// padding to a multiple of 4 (so that a length never straddles the end of the ring).
    @inline(__always)
    static func recordSize(payload length: Int) -> Int {
        (4 + length + 3) & ~3
    }
}
