/// Unified diffs with invisible characters made visible.
public enum Diff {
    /// `line` with what a terminal would hide made visible: tab → `→`, trailing spaces → `·`,
    /// carriage return → `␍`, other control characters → `\u{XX}`.
    public static func visible(_ line: String) -> String {
        let scalars = Array(line.unicodeScalars)
        var end = scalars.count
        while end > 0, scalars[end - 1] == " " { end -= 1 }
        var result = ""
        for (index, scalar) in scalars.enumerated() {
            switch scalar {
            case "\t": result += "→"
            case "\r": result += "␍"
            case " " where index >= end: result += "·"
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                    result += "\\u{" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 2) + "}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    private enum Edit {
        case same(Int, Int)
        case delete(Int)
        case insert(Int)
    }

    /// A unified diff of `expected` against `actual`, where `same(i, j)` says whether
    /// expected line i and actual line j are equal (after normalization). Shows `context`
    /// unchanged lines around each change, headed `--- expected` / `+++ actual`. Every shown
    /// line goes through `visible`; `labels` name the two sides. Cost: O(n·m) time and memory
    /// after trimming the common head and tail; past 4 million cells it shows a full
    /// replacement instead.
    public static func unified(
        expected: [String], actual: [String], same: (Int, Int) -> Bool,
        context: Int = 3, labels: (String, String) = ("expected", "actual")
    ) -> String {
        let edits = editScript(expected.count, actual.count, same)
        guard edits.contains(where: { if case .same = $0 { return false } else { return true } }) else { return "" }

        var out = ["--- " + labels.0, "+++ " + labels.1]
        // Group edits into hunks: changes plus up to `context` same lines around them.
        var changeIndices: [Int] = []
        for (index, edit) in edits.enumerated() {
            if case .same = edit { continue }
            changeIndices.append(index)
        }
        var hunks: [(start: Int, end: Int)] = []  // ranges in `edits`, end exclusive
        for index in changeIndices {
            let start = max(0, index - context)
            let end = min(edits.count, index + 1 + context)
            if let last = hunks.last, start <= last.end {
                hunks[hunks.count - 1].end = max(last.end, end)
            } else {
                hunks.append((start, end))
            }
        }
        for hunk in hunks {
            var lines: [String] = []
            var eStart: Int?
            var aStart: Int?
            var eCount = 0
            var aCount = 0
            // Positions before the hunk, for empty-side headers.
            var ePos = 0
            var aPos = 0
            for edit in edits[0..<hunk.start] {
                switch edit {
                case .same:
                    ePos += 1
                    aPos += 1
                case .delete: ePos += 1
                case .insert: aPos += 1
                }
            }
            for edit in edits[hunk.start..<hunk.end] {
                switch edit {
                case .same(let i, let j):
                    eStart = eStart ?? i
                    aStart = aStart ?? j
                    eCount += 1
                    aCount += 1
                    lines.append(" " + visible(expected[i]))
                case .delete(let i):
                    eStart = eStart ?? i
                    eCount += 1
                    lines.append("-" + visible(expected[i]))
                case .insert(let j):
                    aStart = aStart ?? j
                    aCount += 1
                    lines.append("+" + visible(actual[j]))
                }
            }
            let eHeader = eCount == 0 ? "\(ePos),0" : "\((eStart ?? ePos) + 1),\(eCount)"
            let aHeader = aCount == 0 ? "\(aPos),0" : "\((aStart ?? aPos) + 1),\(aCount)"
            out.append("@@ -\(eHeader) +\(aHeader) @@")
            out += lines
        }
        return out.joined(separator: "\n")
    }

    /// A shortest edit script by longest common subsequence.
    private static func editScript(_ n: Int, _ m: Int, _ same: (Int, Int) -> Bool) -> [Edit] {
        var head = 0
        while head < n, head < m, same(head, head) { head += 1 }
        var tail = 0
        while tail < n - head, tail < m - head, same(n - 1 - tail, m - 1 - tail) { tail += 1 }
        let rows = n - head - tail
        let columns = m - head - tail
        var middle: [Edit] = []
        if rows * columns > 4_000_000 || rows == 0 || columns == 0 {
            middle = (0..<rows).map { .delete(head + $0) } + (0..<columns).map { .insert(head + $0) }
        } else {
            // lcs[i][j] = LCS length of expected[head+i...] and actual[head+j...].
            let width = columns + 1
            var lcs = [Int32](repeating: 0, count: (rows + 1) * width)
            for i in stride(from: rows - 1, through: 0, by: -1) {
                for j in stride(from: columns - 1, through: 0, by: -1) {
                    lcs[i * width + j] =
                        same(head + i, head + j)
                        ? lcs[(i + 1) * width + j + 1] + 1
                        : max(lcs[(i + 1) * width + j], lcs[i * width + j + 1])
                }
            }
            var i = 0
            var j = 0
            while i < rows || j < columns {
                if i < rows, j < columns, same(head + i, head + j),
                    lcs[i * width + j] == lcs[(i + 1) * width + j + 1] + 1
                {
                    middle.append(.same(head + i, head + j))
                    i += 1
                    j += 1
                } else if i < rows, j == columns || lcs[(i + 1) * width + j] == lcs[i * width + j] {
                    // Deletions first, so a changed line reads - then +.
                    middle.append(.delete(head + i))
                    i += 1
                } else {
                    middle.append(.insert(head + j))
                    j += 1
                }
            }
        }
        return (0..<head).map { .same($0, $0) } + middle
            + (0..<tail).map { .same(n - tail + $0, m - tail + $0) }
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
