// Exercise 2.3: run() or start()? — a reference solution.
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
    for squarer in squarers { try squarer.start() }  // start() forks, and the child calls run()
    for squarer in squarers { try squarer.join() }
    print("main: all squarers are done")
}
