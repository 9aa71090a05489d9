// SharedValue and SharedArray: Python's multiprocessing.Value and Array, plain data in shared memory.

/// One value of a plain, fixed-size type (`Int`, `Double`, a struct of them...) in memory that
/// processes share: create it before forking; what one process writes, every process reads.
///
/// By default it has a lock (an ``RLock``, as in Python) and each read or write of ``value`` takes it;
/// ``withLock(_:)`` makes a read-modify-write (`$0 += 1`) atomic. `value += 1` is a read and a write, two
/// separate steps: another process can write in between, and an update is lost. With `lock: false`
/// there is no lock and nothing protects the value (a value wider than 8 bytes may even be read
/// half-written).
///
/// Cost: one 4 KiB page; a locked read or write is an uncontended lock and unlock (two atomic
/// instructions) around a plain memory access.
public final class SharedValue<Value: BitwiseCopyable>: @unchecked Sendable {
    private let memory: SharedMemory
    private let storage: UnsafeMutablePointer<Value>
    /// The lock that guards the value, or nil when made with `lock: false`.
    public let lock: RLock?

    /// Places `initial` in fresh shared memory, with a lock unless `lock` is false.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(_ initial: Value, lock: Bool = true) throws(SyncError) {
        var layout = SharedLayout()
        let lockFields = LockCore.reserve(in: &layout)
        layout.startCacheLine()  // waiters polling the lock word do not steal the value's line
        let valueField = layout.reserve(Value.self)
        do { memory = try SharedMemory(layout) } catch { throw .system(error) }
        self.lock = lock ? RLock(core: LockCore(initializing: lockFields, in: memory)) : nil
        storage = memory.pointer(to: valueField)
        storage.initialize(to: initial)
    }

    /// The value. Reading and writing each take the lock (if any) for that one access.
    public var value: Value {
        get {
            guard let lock else { return storage.pointee }
            return lock.withLock { storage.pointee }
        }
        set {
            guard let lock else { storage.pointee = newValue; return }
            lock.withLock { storage.pointee = newValue }
        }
    }

    /// Runs `body` with the lock held, giving it the value to read and change in place: an atomic
    /// read-modify-write across processes. Returns what `body` returns.
    /// - Throws: ``SyncError/noLock`` for a value made with `lock: false`; whatever `body` throws.
    public func withLock<R>(_ body: (inout Value) throws -> R) throws -> R {
        guard let lock else { throw SyncError.noLock }
        return try lock.withLock { try body(&storage.pointee) }
    }
}

/// A fixed number of plain, fixed-size values (`Int`, `Double`, ...) in memory that processes share.
///
/// By default it has a lock (an ``RLock``) that each subscript access takes; ``withLock(_:)`` gives a whole
/// buffer under the lock. An index outside `0..<count` stops the program, as with `Array`.
///
/// Cost: `count × stride` bytes rounded up to whole 4 KiB pages, plus the lock's words.
public final class SharedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    private let memory: SharedMemory
    private let storage: UnsafeMutablePointer<Element>
    /// How many elements it holds; fixed at creation.
    public let count: Int
    /// The lock that guards the elements, or nil when made with `lock: false`.
    public let lock: RLock?

    /// `count` copies of `element` in fresh shared memory, with a lock unless `lock` is false.
    /// - Throws: ``SyncError/invalidCount(_:)`` when `count` is negative; `.system` when the memory cannot be mapped.
    public convenience init(repeating element: Element, count: Int, lock: Bool = true) throws(SyncError) {
        try self.init(count: count, lock: lock) { $0.initialize(repeating: element, count: count) }
    }

    /// The elements of `elements`, in fresh shared memory.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public convenience init(_ elements: [Element], lock: Bool = true) throws(SyncError) {
        try self.init(count: elements.count, lock: lock) { storage in
            for (index, element) in elements.enumerated() { (storage + index).initialize(to: element) }
        }
    }

    private init(count: Int, lock: Bool, initialize: (UnsafeMutablePointer<Element>) -> Void) throws(SyncError) {
        guard count >= 0 else { throw .invalidCount(count) }
        var layout = SharedLayout()
        let lockFields = LockCore.reserve(in: &layout)
        layout.startCacheLine()
        let elementsField = layout.reserve(Element.self, count: count)
        do { memory = try SharedMemory(layout) } catch { throw .system(error) }
        self.count = count
        self.lock = lock ? RLock(core: LockCore(initializing: lockFields, in: memory)) : nil
        storage = memory.pointer(to: elementsField)
        initialize(storage)
    }

    /// The element at `index`, read or written under the lock (if any).
    public subscript(index: Int) -> Element {
        get {
            precondition(index >= 0 && index < count, "SharedArray index \(index) out of range 0..<\(count)")
            guard let lock else { return storage[index] }
            return lock.withLock { storage[index] }
        }
        set {
            precondition(index >= 0 && index < count, "SharedArray index \(index) out of range 0..<\(count)")
            guard let lock else { storage[index] = newValue; return }
            lock.withLock { storage[index] = newValue }
        }
    }

    /// A copy of every element, taken under the lock (if any).
    public var elements: [Element] {
        guard let lock else { return Array(UnsafeBufferPointer(start: storage, count: count)) }
        return lock.withLock { Array(UnsafeBufferPointer(start: storage, count: count)) }
    }

    /// Runs `body` with the lock held, giving it the elements to read and change in place.
    /// - Throws: ``SyncError/noLock`` for an array made with `lock: false`; whatever `body` throws.
    public func withLock<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws -> R) throws -> R {
        guard let lock else { throw SyncError.noLock }
        return try lock.withLock { try body(UnsafeMutableBufferPointer(start: storage, count: count)) }
    }
}

extension SharedArray where Element: AdditiveArithmetic {
    /// `count` zeros in fresh shared memory.
    /// - Throws: ``SyncError/invalidCount(_:)`` when `count` is negative; `.system` when the memory cannot be mapped.
    public convenience init(count: Int, lock: Bool = true) throws(SyncError) {
        try self.init(repeating: .zero, count: count, lock: lock)
    }
}
