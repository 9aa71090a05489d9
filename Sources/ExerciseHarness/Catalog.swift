import BookKit
import ExerciseKit

/// One exercise of the track: what it asks, how its program is judged, and the help it gives.
public struct ExerciseInfo: Sendable {
    /// `4.1`: chapter 4, exercise 1.
    public let id: String
    /// The folder name's tail, e.g. `lost-update` (the folder is `4.1-lost-update`).
    public let slug: String
    public let title: String
    /// One line for the list and the chapter page: what to do.
    public let summary: String
    /// About how long a learner needs, in minutes (for the instructors' guide).
    public let minutes: Int
    /// What the check runs and asserts, said once before the verdict.
    public let checked: String
    /// How many times the program runs; every run must pass (races are caught by repetition).
    public var runs = 1
    /// The time limit of one run, in seconds.
    public var timeLimit: Double = 6
    /// Shown one at a time by `hint`.
    public let hints: [String]
    /// Shown beside the reference solution once the exercise passes.
    public let why: String
    /// Text that the shipped starter's verdict must contain: proof that it fails for the reason
    /// the exercise is about (the tests check it).
    public let starterFailure: String
    /// The problems with one run, or none: what was seen and what to look at.
    let judge: @Sendable (Observation) -> [String]

    init(
        _ id: String, _ slug: String, _ title: String, summary: String, minutes: Int, checked: String,
        runs: Int = 1, timeLimit: Double = 6, hints: [String], why: String, starterFailure: String,
        judge: @escaping @Sendable (Observation) -> [String]
    ) {
        self.id = id
        self.slug = slug
        self.title = title
        self.summary = summary
        self.minutes = minutes
        self.checked = checked
        self.runs = runs
        self.timeLimit = timeLimit
        self.hints = hints
        self.why = why
        self.starterFailure = starterFailure
        self.judge = judge
    }

    /// The chapter number: the part of the id before the dot.
    public var chapter: Int { Int(id.split(separator: ".")[0])! }
    /// The folder of the exercise's files under Exercises/, e.g. `chapter4/4.1-lost-update`.
    public var folder: String { "chapter\(chapter)/\(id)-\(slug)" }
    /// The learner's copy under Exercises/Workspace/, e.g. `4.1-lost-update.swift`.
    public var workspaceName: String { "\(id)-\(slug).swift" }
    /// A Swift identifier made from the id: `4_1`.
    var symbol: String { id.replacingDots() }
}

extension String {
    func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}

/// What one run of an exercise program left: its evidence, output and ending.
public struct Observation: Sendable {
    public let evidence: EvidenceReading
    public let run: RunResult

    /// Standard output's lines (without the empty one after the last newline).
    public var lines: [String] {
        var lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    /// How often each task `0..<count` was done.
    func tasks(_ count: Int) -> [Int] { evidence.items(Slot.tasks, count: count) }
    /// How often main received each result `0..<count`.
    func received(_ count: Int) -> [Int] { evidence.items(Slot.received, count: count) }

    /// Problems unless every task in `items` was done exactly once (and no other task of 0..<256).
    func eachTaskOnce(_ items: [Int], noun: String = "task") -> [String] {
        let counts = evidence.items(Slot.tasks, count: Slot.items)
        var problems: [String] = []
        let missing = items.filter { counts[$0] == 0 }
        let repeated = items.filter { counts[$0] > 1 }
        if !missing.isEmpty { problems.append("\(noun)s never done: \(list(missing)) (of \(list(items)))") }
        if !repeated.isEmpty { problems.append("\(noun)s done more than once: \(list(repeated))") }
        return problems
    }

    /// A problem when some task ran in main instead of a child process.
    func tasksInChildren() -> [String] {
        let inMain = evidence[Slot.tasksInMain]
        return inMain == 0
            ? []
            : [
                "\(inMain) task(s) ran in main's own process (main or one of its threads), not in a child "
                    + "process: is start() called?"
            ]
    }

    /// Problems unless main received every result in `items` exactly once.
    func eachReceivedOnce(_ items: [Int]) -> [String] {
        let counts = evidence.items(Slot.received, count: Slot.items)
        var problems: [String] = []
        let missing = items.filter { counts[$0] == 0 }
        let repeated = items.filter { counts[$0] > 1 }
        if !missing.isEmpty { problems.append("main never received: \(list(missing))") }
        if !repeated.isEmpty { problems.append("main received more than once: \(list(repeated))") }
        if evidence[Slot.forgedResults] > 0 {
            problems.append(
                "main received \(evidence[Slot.forgedResults]) number(s) that Kit.work never returned: "
                    + "pass on the results the workers got from Kit.work")
        }
        if evidence[Slot.receivedOutsideMain] > 0 {
            problems.append("Kit.received was called in a child process; main must receive the results")
        }
        return problems
    }

    /// A problem when children of main were still there (running or zombies) as exercise() returned.
    func noChildrenLeft(_ advice: String) -> [String] {
        let left = evidence[Slot.childrenLeft]
        guard left > 0 else { return [] }
        let zombies = evidence[Slot.zombiesLeft]
        return [
            "when exercise() returned, \(left) child process(es) had not been waited for"
                + (zombies > 0 ? " (\(zombies) of them zombies)" : "") + ": \(advice)"
        ]
    }

    /// The elapsed time of exercise() in seconds.
    var elapsed: Double { Double(evidence[Slot.elapsedMicroseconds]) / 1e6 }
    /// The most tasks that ran at once.
    var highWater: Int { evidence[Slot.highWater] }

    /// Compares the output with `expected` by BookKit's rules (pids normalised, `mode`); the
    /// diff when they differ.
    func output(matches expected: [String], mode: OutputMode) -> [String] {
        let comparison = Compare.compare(
            expected: expected, expectedPids: [], actual: lines, actualPids: run.pids, mode: mode)
        if comparison.matches { return [] }
        return ["the output differs from what was expected:\n" + comparison.diff.indentedLines()]
    }
}

func list(_ numbers: [Int]) -> String {
    numbers.count > 12
        ? numbers.prefix(12).map(String.init).joined(separator: ", ") + ", …"
        : numbers.map(String.init).joined(separator: ", ")
}

func format(_ seconds: Double) -> String {
    let tenths = (seconds * 100).rounded() / 100
    return "\(tenths)"
}

extension String {
    func indentedLines(_ prefix: String = "    ") -> String {
        split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }
}

/// Every exercise, in track order.
public let catalog: [ExerciseInfo] =
    chapter1 + chapter2 + chapter3 + chapter4 + chapter5 + chapter6 + chapter7 + chapter8 + chapter9

/// The exercise with `id`, or nil.
public func exercise(_ id: String) -> ExerciseInfo? { catalog.first { $0.id == id } }
