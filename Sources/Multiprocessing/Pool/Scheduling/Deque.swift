// A FIFO for the pool's queue and each worker's jobs in flight; plain value, no I/O.

/// A FIFO with cheap removal at either end and (rare) insertion at the front.
struct Deque<Element> {
    private var storage: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: Element? { isEmpty ? nil : storage[head] }
    var last: Element? { isEmpty ? nil : storage.last }
    /// A copy of the elements, first to last (for inspection; O(count)).
    var elements: [Element] { Array(storage[head...]) }

    mutating func append(_ element: Element) {
        storage.append(element)
    }

    mutating func append(contentsOf elements: [Element]) {
        storage.append(contentsOf: elements)
    }

    mutating func popLast() -> Element? {
        isEmpty ? nil : storage.removeLast()
    }

    mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let element = storage[head]
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    mutating func prepend(_ elements: [Element]) {
        storage.replaceSubrange(head..<head, with: elements)
    }

    mutating func removeAll() -> [Element] {
        let all = Array(storage[head...])
        storage.removeAll()
        head = 0
        return all
    }
}
