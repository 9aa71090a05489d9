// Exercise 2.3: run() or start()? (chapter 2, "Subclassing ChildProcess and overriding run()")
//
// Find the bug: each Squarer's run() does its task, and each task takes 200 ms. But the tasks run
// one after another, all in main. Make each run in its own child process, all three at once.
//
// Check: swift run exercises check 2.3
import ExerciseKit
import Multiprocessing

final class Squarer: ChildProcess, @unchecked Sendable {
    let item: Int

    init(item: Int) {
        self.item = item
        super.init(name: "squarer \(item)")
    }

    override func run() throws {
        Kit.task(item, milliseconds: 200)
    }
}

public func exercise() throws {
    let squarers = (0..<3).map { Squarer(item: $0) }
    for squarer in squarers { try squarer.run() }
    print("main: all squarers are done")
}
