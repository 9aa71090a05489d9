import Multiprocessing
import Notebook

// cell: counter-class
final class Counter: ChildProcess, @unchecked Sendable {
    let loops: Int  // a subclass's stored properties: `let` and Sendable (or guarded by a lock)

    init(loops: Int) {
        self.loops = loops
        super.init()
    }

    override func run() throws {
        for loop in 1...loops {
            print("\(name): loop \(loop) of \(loops)")
            demoSleep(.milliseconds(300))
        }
    }
}
// end cell

/// `swift run chapter2 subclass`
let subclassCell = Cell("subclass", "Subclassing ChildProcess and overriding run()", subclass)

nonisolated func subclass() throws {
    // cell: subclass
    let counters = [Counter(loops: 3), Counter(loops: 2)]
    for counter in counters { try counter.start() }
    for counter in counters { try counter.join() }
    print("main: both counters are done")
    // end cell
}
