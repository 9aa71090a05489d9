// Exercise 1.2, a plausible wrong solution: the right lines, printed without the fork.
import ExerciseKit

public func exercise() throws {
    print("hello from before the fork")
    print("parent: the child has ended")
}
