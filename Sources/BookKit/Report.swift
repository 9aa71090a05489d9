/// One thing that is wrong with the book, ready to print.
public struct BookFailure: Sendable {
    /// Where: `book/03-daemon-join.md:42`, `Chapters/chapter3/Daemon.swift:7`, or a directory.
    public let location: String
    /// The cell or region concerned (`chapter3/daemon`), when there is one.
    public let cell: String?
    /// The chapter concerned (`chapter3`), when there is one.
    public let chapter: String?
    /// What went wrong, in one line.
    public let message: String
    /// The full report: location, cell, what went wrong, the diff or output, what to do.
    public let rendered: String
}

/// What a check or an update found and did.
public struct BookReport: Sendable {
    /// `check` or `update`.
    public let action: String
    /// Every failure, in page order per chapter.
    public internal(set) var failures: [BookFailure] = []
    /// Output blocks compared with a run (or counted as manual), by mode.
    public internal(set) var outputBlocks: [OutputMode: Int] = [:]
    /// Code blocks compared with their regions.
    public internal(set) var codeBlocks = 0
    /// Figures compared with a traced run.
    public internal(set) var figures = 0
    /// One line per block that `update` rewrote or inserted.
    public internal(set) var rewrites: [String] = []
    /// Where the checked pages break the book's page conventions (see ``Conventions``): run lines,
    /// recaps, navigation, links. Kept apart from ``failures``: ``isSuccess`` is about the blocks.
    public internal(set) var conventionProblems: [ConventionProblem] = []

    init(action: String) { self.action = action }

    /// No failures: every block matches (convention problems are not counted here).
    public var isSuccess: Bool { failures.isEmpty }

    /// No failures and no convention problems: what `book check` exits 0 for.
    public var isClean: Bool { isSuccess && conventionProblems.isEmpty }

    /// Output blocks counted, all modes together.
    public var outputBlockCount: Int { outputBlocks.values.reduce(0, +) }

    /// The last line: `book check: 24 output blocks checked (exact 20, unordered 3,
    /// interleaved 1, manual 0), 12 code blocks; 0 failures`.
    public var summary: String {
        let modes = OutputMode.allCases.map { "\($0.rawValue) \(outputBlocks[$0, default: 0])" }.joined(separator: ", ")
        var text = "book \(action): \(outputBlockCount) output blocks checked (\(modes)), \(codeBlocks) code blocks"
        if figures > 0 { text += ", \(figures) figures" }
        if action == "update" { text += "; \(rewrites.count) blocks rewritten" }
        return text + "; \(failures.count) failure" + (failures.count == 1 ? "" : "s")
    }

    /// The convention problems, one per line under a heading; empty when there are none.
    public var renderedConventionProblems: String {
        if conventionProblems.isEmpty { return "" }
        let count = conventionProblems.count
        return
            (["CONVENTIONS: \(count) problem\(count == 1 ? "" : "s") with the pages' conventions"]
            + conventionProblems.map { "  \($0)" }).joined(separator: "\n")
    }

    /// Everything to print: the rewrites, each failure, the convention problems, then the summary.
    public var rendered: String {
        var parts: [String] = []
        if !rewrites.isEmpty { parts.append(rewrites.joined(separator: "\n")) }
        parts += failures.map(\.rendered)
        if !conventionProblems.isEmpty { parts.append(renderedConventionProblems) }
        parts.append(summary)
        return parts.joined(separator: "\n\n") + "\n"
    }
}
