// Exercise 4.2, a plausible wrong solution: main prints the right lines; the writers write nothing.
import ExerciseKit
import Multiprocessing

public func exercise() throws {
    for number in 1...3 {
        for line in 1...5 { print("writer \(number): line \(line) of 5, written in pieces") }
    }
}
