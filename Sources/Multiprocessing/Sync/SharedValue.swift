// SharedValue and SharedArray: Python's multiprocessing.Value and Array, plain data in shared memory
// behind a lock. RawSharedValue and RawSharedArray: Python's RawValue and RawArray, the same data with
// no lock. All four are thin views of one storage type, SharedElements.

/// The memory behind the four shared types: `count` elements in fresh shared memory, starting on a
/// cache line of their own, after the words of an RLock when the type has one (so that waiters
/// polling the lock word do not steal the elements' cache line).
struct SharedElements<Element: BitwiseCopyable>: @unchecked Sendable {
    private let memory: SharedMemory
    private let base: UnsafeMutablePointer<Element>
    let count: Int

    /// `count` elements, with no lock, set by `initialize`.
    init(count: Int, initialize: (UnsafeMutablePointer<Element>) -> Void) throws(SyncError) {
        var layout = SharedLayout()
        try self.init(count: count, after: &layout, initialize: initialize)
    }

    /// `count` elements set by `initialize`, and an RLock in the same memory to guard them.
    static func locked(count: Int, initialize: (UnsafeMutablePointer<Element>) -> Void)
        throws(SyncError) -> (elements: SharedElements, lock: RLock)
    {
        var layout = SharedLayout()
        let lockFields = LockCore.reserve(in: &layout)
        let elements = try SharedElements(count: count, after: &layout, initialize: initialize)
        return (elements, RLock(core: LockCore(initializing: lockFields, in: elements.memory, tracedAs: .rlock)))
    }

    private init(
        count: Int, after layout: inout SharedLayout,
        initialize: (UnsafeMutablePointer<Element>) -> Void
    ) throws(SyncError) {
        guard count >= 0 else { throw .invalidCount(count) }
        layout.startCacheLine()
        let field = layout.reserve(Element.self, count: count)
        memory = try SyncError.wrapping { () throws(SystemError) in try SharedMemory(layout) }
        self.count = count
        base = memory.pointer(to: field)
        initialize(base)
    }

    /// The whole storage, to read and write in place.
    var buffer: UnsafeMutableBufferPointer<Element> {
        UnsafeMutableBufferPointer(start: base, count: count)
    }

    /// The first element (the only one of a shared value).
    var first: UnsafeMutablePointer<Element> { base }

    /// Element `index`; an index outside `0..<count` stops the program, as with `Array`.
    func pointer(at index: Int, in typeName: StaticString) -> UnsafeMutablePointer<Element> {
        precondition(index >= 0 && index < count, "\(typeName) index \(index) out of range 0..<\(count)")
        return base + index
    }

    /// A copy of every element.
    var array: [Element] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

extension UnsafeMutablePointer {
    /// Initializes `elements.count` values from `elements`.
    fileprivate func initialize(copying elements: [Pointee]) {
        for (index, element) in elements.enumerated() { (self + index).initialize(to: element) }
    }
}

/// One value of a plain, fixed-size type (`Int`, `Double`, a struct of them...) in memory that
/// processes share, with a lock: create it before forking; what one process writes, every process reads.
/// It re-creates Python's `multiprocessing.Value` (which has a lock by default).
///
/// Each read or write of ``value`` takes the lock (an ``RLock``, as in Python) for that one access;
/// ``withLock(_:)`` makes a read-modify-write (`$0 += 1`) atomic. `value += 1` is a read and a write, two
/// separate steps: another process can write in between, and an update is lost. For a value that
/// another lock already guards, use ``RawSharedValue``, which has no lock of its own.
///
/// Cost: one 4 KiB page; a read or write is an uncontended lock and unlock (two atomic instructions)
/// around a plain memory access.
public final class SharedValue<Value: BitwiseCopyable>: @unchecked Sendable {
    private let storage: SharedElements<Value>
    /// The lock that guards the value. ``value`` and ``withLock(_:)`` take it; hold it yourself (it is
    /// re-entrant) to make several accesses one step.
    public let lock: RLock

    /// Places `initial` in fresh shared memory, with its lock. Python's `multiprocessing.Value(typecode, value)`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(_ initial: Value) throws(SyncError) {
        (storage, lock) = try SharedElements.locked(count: 1) { $0.initialize(to: initial) }
    }

    /// The value. Reading and writing each take the lock for that one access. Python's `Value.value`.
    public var value: Value {
        get { lock.withLock { storage.first.pointee } }
        set { lock.withLock { storage.first.pointee = newValue } }
    }

    /// Runs `body` with the lock held, giving it the value to read and change in place: an atomic
    /// read-modify-write across processes. Returns what `body` returns. Python's `with value.get_lock():`.
    /// - Throws: only what `body` throws (`E`); a body that cannot throw needs no `try`.
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try lock.withLock { () throws(E) -> R in try body(&storage.first.pointee) }
    }
}

/// One value of a plain, fixed-size type in memory that processes share, with no lock: Python's
/// `multiprocessing.RawValue`. Create it before forking.
///
/// Nothing protects it: guard it with a ``Lock`` of your own when several processes change it (a
/// value wider than 8 bytes may even be read half-written while another process writes it).
///
/// Cost: one 4 KiB page; a read or write is a plain memory access.
public final class RawSharedValue<Value: BitwiseCopyable>: @unchecked Sendable {
    private let storage: SharedElements<Value>

    /// Places `initial` in fresh shared memory. Python's `multiprocessing.RawValue(typecode, value)`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(_ initial: Value) throws(SyncError) {
        storage = try SharedElements(count: 1) { $0.initialize(to: initial) }
    }

    /// The value, read or written with no lock. Python's `RawValue.value`.
    public var value: Value {
        get { storage.first.pointee }
        set { storage.first.pointee = newValue }
    }
}

/// A fixed number of plain, fixed-size values (`Int`, `Double`, ...) in memory that processes share,
/// with a lock: Python's `multiprocessing.Array`. Create it before forking.
///
/// Each subscript access takes the lock (an ``RLock``); ``withLock(_:)`` gives the whole buffer under the
/// lock. An index outside `0..<count` stops the program, as with `Array`. For elements that another
/// lock already guards, use ``RawSharedArray``, which has no lock of its own.
///
/// Cost: `count × stride` bytes rounded up to whole 4 KiB pages, plus the lock's words; an access is
/// an uncontended lock and unlock around a plain memory access.
public final class SharedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    private let storage: SharedElements<Element>
    /// The lock that guards the elements (re-entrant, as in Python).
    public let lock: RLock

    /// How many elements it holds; fixed at creation. Python's `len(array)`.
    public var count: Int { storage.count }

    /// `count` copies of `element` in fresh shared memory.
    /// - Throws: ``SyncError/invalidCount(_:)`` when `count` is negative; `.system` when the memory cannot be mapped.
    public init(repeating element: Element, count: Int) throws(SyncError) {
        (storage, lock) = try SharedElements.locked(count: count) { $0.initialize(repeating: element, count: count) }
    }

    /// The elements of `elements`, in fresh shared memory. Python's `multiprocessing.Array(typecode, sequence)`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(_ elements: [Element]) throws(SyncError) {
        (storage, lock) = try SharedElements.locked(count: elements.count) { $0.initialize(copying: elements) }
    }

    /// The element at `index`, read or written under the lock.
    public subscript(index: Int) -> Element {
        get { lock.withLock { storage.pointer(at: index, in: "SharedArray").pointee } }
        set { lock.withLock { storage.pointer(at: index, in: "SharedArray").pointee = newValue } }
    }

    /// A copy of every element, taken under the lock. Python's `array[:]`.
    public var elements: [Element] {
        lock.withLock { storage.array }
    }

    /// Runs `body` with the lock held, giving it the elements to read and change in place.
    /// Returns what `body` returns. Python's `with array.get_lock():`.
    /// - Throws: only what `body` throws (`E`); a body that cannot throw needs no `try`.
    public func withLock<R, E: Error>(_ body: (UnsafeMutableBufferPointer<Element>) throws(E) -> R) throws(E) -> R {
        try lock.withLock { () throws(E) -> R in try body(storage.buffer) }
    }
}

extension SharedArray where Element: AdditiveArithmetic {
    /// `count` zeros in fresh shared memory. Python's `multiprocessing.Array(typecode, size)`.
    /// - Throws: ``SyncError/invalidCount(_:)`` when `count` is negative; `.system` when the memory cannot be mapped.
    public convenience init(count: Int) throws(SyncError) {
        try self.init(repeating: .zero, count: count)
    }
}

/// A fixed number of plain, fixed-size values in memory that processes share, with no lock: Python's
/// `multiprocessing.RawArray`. Create it before forking.
///
/// Nothing protects the elements: guard them with a ``Lock`` of your own when several processes change
/// the same ones. An index outside `0..<count` stops the program, as with `Array`.
///
/// Cost: `count × stride` bytes rounded up to whole 4 KiB pages; an access is a plain memory access.
public final class RawSharedArray<Element: BitwiseCopyable>: @unchecked Sendable {
    private let storage: SharedElements<Element>

    /// How many elements it holds; fixed at creation. Python's `len(array)`.
    public var count: Int { storage.count }

    /// `count` copies of `element` in fresh shared memory.
    /// - Throws: ``SyncError/invalidCount(_:)`` when `count` is negative; `.system` when the memory cannot be mapped.
    public init(repeating element: Element, count: Int) throws(SyncError) {
        storage = try SharedElements(count: count) { $0.initialize(repeating: element, count: count) }
    }

    /// The elements of `elements`, in fresh shared memory. Python's `multiprocessing.RawArray(typecode, sequence)`.
    /// - Throws: ``SyncError/system(_:)`` when the memory cannot be mapped.
    public init(_ elements: [Element]) throws(SyncError) {
        storage = try SharedElements(count: elements.count) { $0.initialize(copying: elements) }
    }

    /// The element at `index`, read or written with no lock.
    public subscript(index: Int) -> Element {
        get { storage.pointer(at: index, in: "RawSharedArray").pointee }
        set { storage.pointer(at: index, in: "RawSharedArray").pointee = newValue }
    }

    /// A copy of every element, taken with no lock. Python's `array[:]`.
    public var elements: [Element] { storage.array }
}

extension RawSharedArray where Element: AdditiveArithmetic {
    /// `count` zeros in fresh shared memory. Python's `multiprocessing.RawArray(typecode, size)`.
    /// - Throws: ``SyncError/invalidCount(_:)`` when `count` is negative; `.system` when the memory cannot be mapped.
    public convenience init(count: Int) throws(SyncError) {
        try self.init(repeating: .zero, count: count)
    }
}
