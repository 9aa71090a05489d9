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
    /// One line per block that `update` rewrote or inserted.
    public internal(set) var rewrites: [String] = []

    init(action: String) { self.action = action }

    /// No failures.
    public var isSuccess: Bool { failures.isEmpty }

    /// Output blocks counted, all modes together.
    public var outputBlockCount: Int { outputBlocks.values.reduce(0, +) }

    /// The last line: `book check: 24 output blocks checked (exact 20, unordered 3,
    /// interleaved 1, manual 0), 12 code blocks; 0 failures`.
    public var summary: String {
        let modes = OutputMode.allCases.map { "\($0.rawValue) \(outputBlocks[$0, default: 0])" }.joined(separator: ", ")
        var text = "book \(action): \(outputBlockCount) output blocks checked (\(modes)), \(codeBlocks) code blocks"
        if action == "update" { text += "; \(rewrites.count) blocks rewritten" }
        return text + "; \(failures.count) failure" + (failures.count == 1 ? "" : "s")
    }

    /// Everything to print: the rewrites, each failure, then the summary.
    public var rendered: String {
        var parts: [String] = []
        if !rewrites.isEmpty { parts.append(rewrites.joined(separator: "\n")) }
        parts += failures.map(\.rendered)
        parts.append(summary)
        return parts.joined(separator: "\n\n") + "\n"
    }
}
