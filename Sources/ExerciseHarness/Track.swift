// The track on disk: pristine exercise files under Exercises/chapterN/<id>-<slug>/ (Starter.swift,
// Solution.swift, Wrong-*.swift), the learner's copies under Exercises/Workspace/ (made on first use,
// ignored by git), and the progress file beside them. Checking runs a built program and judges it.

import BookKit
import ExerciseKit
import Glibc

/// The verdict on one exercise program.
public struct Verdict: Sendable {
    public let passed: Bool
    /// What was checked, what was seen and what to look at.
    public let text: String
}

/// The exercise track of the book package at `root`.
public struct Track: Sendable {
    public let root: String

    public init(root: String) { self.root = root }

    /// The package root at or above `start` (the current directory by default) that holds
    /// Exercises/, or nil.
    public static func find(from start: String? = nil) -> Track? {
        guard let root = BookPaths.packageRoot(from: start), FileSystem.isDirectory(root + "/Exercises") else {
            return nil
        }
        return Track(root: root)
    }

    /// The package that built the running program (it lives in <root>/.build/…), or nil: what
    /// `swift run --package-path PATH exercises` from another folder means.
    public static func findFromExecutable() -> Track? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let build = path.firstRange(of: "/.build/") else { return nil }
        return find(from: String(path[..<build.lowerBound]))
    }

    public var exercisesDirectory: String { root + "/Exercises" }
    public var workspace: String { exercisesDirectory + "/Workspace" }
    var progressFile: String { workspace + "/.progress" }

    public func starter(_ e: ExerciseInfo) -> String { "\(exercisesDirectory)/\(e.folder)/Starter.swift" }
    public func solution(_ e: ExerciseInfo) -> String { "\(exercisesDirectory)/\(e.folder)/Solution.swift" }
    /// The plausible wrong solutions kept for the tests: Wrong-<what>.swift.
    public func wrongSolutions(_ e: ExerciseInfo) -> [String] {
        let folder = "\(exercisesDirectory)/\(e.folder)"
        return ((try? FileSystem.list(folder)) ?? []).filter { $0.hasPrefix("Wrong-") && $0.hasSuffix(".swift") }
            .map { "\(folder)/\($0)" }
    }
    /// The learner's file for `e`.
    public func workspaceFile(_ e: ExerciseInfo) -> String { "\(workspace)/\(e.workspaceName)" }
    /// The path shown to the learner: relative to the package root.
    public func shown(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    /// Copies every starter that has no learner copy yet into the workspace.
    public func ensureWorkspace() throws(BookError) {
        try FileSystem.makeDirectories(workspace)
        for e in catalog where !FileSystem.exists(workspaceFile(e)) {
            try FileSystem.writeTextAtomically(workspaceFile(e), try FileSystem.readText(starter(e)))
        }
    }

    /// Puts the starter back (the learner's copy is replaced) and forgets the exercise's progress.
    public func reset(_ e: ExerciseInfo) throws(BookError) {
        try FileSystem.makeDirectories(workspace)
        try FileSystem.writeTextAtomically(workspaceFile(e), try FileSystem.readText(starter(e)))
        var progress = loadProgress()
        progress.passed.remove(e.id)
        progress.hintsShown[e.id] = nil
        try saveProgress(progress)
    }

    // MARK: Progress

    /// What the learner has done: exercises passed, hints shown per exercise.
    public struct Progress: Sendable {
        public var passed: Set<String> = []
        public var hintsShown: [String: Int] = [:]
    }

    /// Lines `passed <id>` and `hints <id> <count>`.
    public func loadProgress() -> Progress {
        var progress = Progress()
        guard let text = try? FileSystem.readText(progressFile) else { return progress }
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ").map(String.init)
            if words.count == 2, words[0] == "passed" { progress.passed.insert(words[1]) }
            if words.count == 3, words[0] == "hints", let count = Int(words[2]) {
                progress.hintsShown[words[1]] = count
            }
        }
        return progress
    }

    public func saveProgress(_ progress: Progress) throws(BookError) {
        var text = "# Progress through the exercises (swift run exercises); delete this file to start again.\n"
        for id in catalog.map(\.id) where progress.passed.contains(id) { text += "passed \(id)\n" }
        for id in catalog.map(\.id) { if let count = progress.hintsShown[id] { text += "hints \(id) \(count)\n" } }
        try FileSystem.makeDirectories(workspace)
        try FileSystem.writeTextAtomically(progressFile, text)
    }

    // MARK: Building

    /// The scratch package for the learner's files.
    public var learnerPackage: ScratchPackage { ScratchPackage(root: root, name: "learner") }

    /// The learner's files as modules (one executable each).
    public func learnerModules() -> [ExerciseModule] {
        catalog.map { ExerciseModule(name: "L_\($0.symbol)", source: workspaceFile($0), key: $0.id) }
    }

    /// Builds the learner's program for `e`.
    public func buildLearner(_ e: ExerciseInfo) -> BuildOutcome {
        let modules = learnerModules()
        do {
            try learnerPackage.writeExecutables(modules)
        } catch {
            return .failed(message: "cannot write the scratch package: \(error)")
        }
        return learnerPackage.build(product: "L_\(e.symbol)", modules: modules)
    }

    /// Every shipped file of every exercise (starter, solution, wrong solutions) as a module of
    /// the tests' scratch package, keyed `<id>/<Starter|Solution|Wrong-…>`.
    public func variantModules() -> [ExerciseModule] {
        catalog.flatMap { e in
            ([starter(e), solution(e)] + wrongSolutions(e)).map { path in
                let variant = String(path.split(separator: "/").last!.dropLast(".swift".count))
                let name = "V_\(e.symbol)_" + String(variant.map { $0.isLetter || $0.isNumber ? $0 : "_" })
                return ExerciseModule(name: name, source: path, key: "\(e.id)/\(variant)")
            }
        }
    }

    // MARK: Checking

    /// Runs the program `executable arguments` as the check of `e` asks (its runs, each in its own
    /// process group under the time limit, the group killed afterwards) and judges what it left.
    public func check(_ e: ExerciseInfo, executable: String, arguments: [String] = []) -> Verdict {
        var header = "\(e.id) \(e.title)\nchecked: \(e.checked)"
        if e.runs > 1 { header += " (\(e.runs) runs, each must pass)" }
        for number in 1...e.runs {
            let problems = runOnce(e, executable: executable, arguments: arguments)
            if !problems.isEmpty {
                let run = e.runs > 1 ? " in run \(number) of \(e.runs)" : ""
                var text = header + "\n✗ not yet: seen\(run):\n"
                text += problems.map { "  - " + $0.replacing("\n", with: "\n    ") }.joined(separator: "\n")
                text += "\nlook at: \(shown(workspaceFile(e))); stuck? `swift run exercises hint \(e.id)`"
                return Verdict(passed: false, text: text)
            }
        }
        return Verdict(passed: true, text: header + "\n✓ passed")
    }

    private func runOnce(_ e: ExerciseInfo, executable: String, arguments: [String]) -> [String] {
        let evidencePath: String
        do {
            evidencePath = try FileSystem.makeTemporaryFile(prefix: "exercise-evidence")
        } catch {
            return ["cannot make the evidence file: \(error)"]
        }
        defer { FileSystem.remove(evidencePath) }
        var runner = Runner()
        runner.drainTimeout = 1
        let result: RunResult
        do {
            result = try runner.run(
                executable, arguments, timeout: e.timeLimit, environment: ["\(evidenceVariable)=\(evidencePath)"])
        } catch {
            return ["cannot run the program: \(error)"]
        }
        let observation = Observation(evidence: EvidenceReading(path: evidencePath), run: result)
        var problems: [String] = []
        let evidence = observation.evidence
        switch result.termination {
        case .timedOut(let seconds):
            problems.append(
                "did not finish in \(formatSeconds(seconds)) s — is something waiting for ever? "
                    + "(the program and every process it started were stopped)")
            // A hang after a fork beside threads: the runtime said so on standard error, the log saw it.
            if let warning = runtimeWarning(result.stderr) { problems.append("the runtime warned: " + warning) }
            if evidence[Slot.logHeldInChild] > 0 {
                problems.append(
                    "\(evidence[Slot.logHeldInChild]) child process(es) found the log's lock held when they "
                        + "started, with no thread left to release it")
            }
            return problems
        case .signaled:
            problems.append("the program \(result.termination)")
            if evidence[Slot.crashedPid] != 0 && evidence[Slot.crashedPid] == evidence[Slot.rootPid] {
                problems.append("Kit.buggyJob() crashed main's process: a crash on any thread ends all of them")
            }
        case .exited(let code):
            if evidence[Slot.threw] == 1 {
                problems.append(lastLines(result.stderr, fallback: "exercise() threw an error"))
            } else if code != 0 {
                problems.append("the program exited with status \(code)" + stderrTail(result.stderr))
            }
        }
        if evidence[Slot.childReturned] > 0 {
            problems.append(
                "a child made by forkProcess() returned from exercise() instead of ending itself with exitProcess(_:)")
        }
        if !result.leftovers.isEmpty {
            problems.append(
                "\(result.leftovers.count) process(es) were still running after the program ended: "
                    + "something started was never waited for or stopped")
        }
        if !problems.isEmpty && result.termination != .exited(0) { return problems }
        if problems.isEmpty && evidence[Slot.finished] != 1 {
            problems.append("the program ended before exercise() returned: did something call exit?")
        }
        return problems + e.judge(observation)
    }
}

private func lastLines(_ text: String, fallback: String) -> String {
    let lines = text.split(separator: "\n").suffix(4)
    return lines.isEmpty ? fallback : lines.joined(separator: "\n")
}

private func stderrTail(_ text: String) -> String {
    let lines = text.split(separator: "\n").suffix(4)
    return lines.isEmpty ? "" : ":\n" + lines.joined(separator: "\n")
}

private func formatSeconds(_ seconds: Double) -> String {
    seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
}
