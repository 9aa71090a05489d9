/// The result of comparing an output block with a run.
public struct Comparison: Sendable {
    /// Whether the block still holds, by its mode.
    public let matches: Bool
    /// A unified diff (`--- expected` / `+++ actual`) of the lines in the order they were
    /// compared, computed on normalized lines but showing the raw ones, invisibles made
    /// visible. Empty when they match.
    public let diff: String
    /// A note on how the lines were ordered for the diff (unordered and interleaved modes).
    public let note: String?
}

/// Compares expected and actual lines by mode, after masking measured numbers (`~12.3`) and
/// normalizing pids.
public enum Compare {
    /// Compares an output block (`expected`, whose pids are `expectedPids`) with a run's
    /// output lines (`actual`, whose runtime logged `actualPids`).
    ///
    /// Pids are numbered by first appearance in a canonical order that does not depend on the
    /// freedom the mode allows (sorted lines for `unordered`, sorted streams for
    /// `interleaved`), so a reordering alone never renumbers them. Cost: O(n log n) plus, on
    /// a mismatch, an O(n·m) diff.
    public static func compare(
        expected: [String], expectedPids: [Int32], actual: [String], actualPids: [Int32],
        mode: OutputMode, tolerance: Double? = nil
    ) -> Comparison {
        let expectedSide = Side(lines: expected, pids: expectedPids, mode: mode, tolerance: tolerance)
        let actualSide = Side(lines: actual, pids: actualPids, mode: mode, tolerance: tolerance)
        let match: (String, String) -> Bool = { Normalize.linesMatch(expected: $0, actual: $1, tolerance: tolerance) }

        let matches: Bool
        switch mode {
        case .exact, .manual:
            matches =
                expectedSide.normalized.count == actualSide.normalized.count
                && zip(expectedSide.normalized, actualSide.normalized).allSatisfy(match)
        case .unordered:
            matches = multisetMatches(
                expectedSide.normalized, actualSide.normalized, tolerance: tolerance, match: match)
        case .interleaved:
            let e = streams(expectedSide.normalized)
            let a = streams(actualSide.normalized)
            matches =
                e.keys.count == a.keys.count && e.keys == a.keys
                && e.keys.allSatisfy { key in
                    let x = e.lines[key]!
                    let y = a.lines[key]!
                    return x.count == y.count && zip(x, y).allSatisfy(match)
                }
        }
        if matches { return Comparison(matches: true, diff: "", note: nil) }

        let eOrder = expectedSide.order
        let aOrder = actualSide.order
        let diff = Diff.unified(
            expected: eOrder.map { expected[$0] }, actual: aOrder.map { actual[$0] },
            same: { match(expectedSide.normalized[eOrder[$0]], actualSide.normalized[aOrder[$1]]) })
        let note: String?
        switch mode {
        case .unordered: note = "order is free in mode=unordered: both sides are shown sorted"
        case .interleaved:
            note =
                "streams may interleave in mode=interleaved: both sides are shown grouped by stream (the text before ':')"
        default: note = nil
        }
        return Comparison(matches: false, diff: diff, note: note)
    }

    /// One side of a comparison: its lines normalized, and the canonical order.
    private struct Side {
        let normalized: [String]
        let order: [Int]

        init(lines raw: [String], pids: [Int32], mode: OutputMode, tolerance: Double?) {
            // Measured numbers go first, so that none is ever taken for a pid or a duration.
            let lines = raw.map(Normalize.maskMeasured)
            let pidSet = Set(pids.map(Int64.init))
            let shapes = lines.map { Normalize.shape($0, pids: pidSet, tolerance: tolerance) }
            switch mode {
            case .exact, .manual:
                order = Array(lines.indices)
            case .unordered:
                order = lines.indices.sorted { (shapes[$0], $0) < (shapes[$1], $1) }
            case .interleaved:
                // Group by the raw stream key; order the groups by their shape (key and lines
                // with pids masked), ties by first appearance.
                var keys: [String] = []
                var members: [String: [Int]] = [:]
                for (index, line) in lines.enumerated() {
                    let key = streamKey(line)
                    if members[key] == nil { keys.append(key) }
                    members[key, default: []].append(index)
                }
                let groupShape = { (key: String) in members[key]!.map { shapes[$0] }.joined(separator: "\n") }
                let sortedKeys = keys.enumerated().sorted {
                    (groupShape($0.element), $0.offset) < (groupShape($1.element), $1.offset)
                }.map(\.element)
                order = sortedKeys.flatMap { members[$0]! }
            }
            normalized = Normalize.normalizePids(lines, pids: pids, order: order)
        }
    }

    /// The stream a line belongs to in mode=interleaved: its text before the first `:`, or
    /// the whole line when it has none.
    public static func streamKey(_ line: String) -> String {
        if let colon = line.firstIndex(of: ":") { return String(line[..<colon]) }
        return line
    }

    private static func streams(_ lines: [String]) -> (keys: Set<String>, lines: [String: [String]]) {
        var byKey: [String: [String]] = [:]
        for line in lines { byKey[streamKey(line), default: []].append(line) }
        return (Set(byKey.keys), byKey)
    }

    private static func multisetMatches(
        _ expected: [String], _ actual: [String], tolerance: Double?,
        match: (String, String) -> Bool
    ) -> Bool {
        guard expected.count == actual.count else { return false }
        if tolerance == nil { return expected.sorted() == actual.sorted() }
        // With a tolerance, pair lines of the same shape in order of their durations.
        func grouped(_ lines: [String]) -> [String: [String]] {
            var groups: [String: [String]] = [:]
            for line in lines { groups[Normalize.splitDurations(line).skeleton, default: []].append(line) }
            return groups.mapValues { group in
                group.sorted {
                    Normalize.splitDurations($0).seconds.lexicographicallyPrecedes(Normalize.splitDurations($1).seconds)
                }
            }
        }
        let e = grouped(expected)
        let a = grouped(actual)
        guard Set(e.keys) == Set(a.keys) else { return false }
        return e.allSatisfy { key, lines in
            let other = a[key]!
            return lines.count == other.count && zip(lines, other).allSatisfy(match)
        }
    }
}
