/// The checker's named normalizations, and nothing else: process ids (by identity), durations
/// (within a declared tolerance), and measured numbers (written `~12.3`, never compared).
public enum Normalize {
    /// A whole-word decimal number in a line: not touching letters or digits, and not part of
    /// a decimal fraction like `1.25`.
    struct NumberToken {
        let range: Range<Int>  // in unicode scalars
        let value: Int64
    }

    static func isWordScalar(_ s: Unicode.Scalar) -> Bool {
        s.properties.isAlphabetic || ("0"..."9").contains(s)
    }

    static func isDigit(_ s: Unicode.Scalar) -> Bool { ("0"..."9").contains(s) }

    static func numberTokens(in scalars: [Unicode.Scalar]) -> [NumberToken] {
        var tokens: [NumberToken] = []
        var i = 0
        while i < scalars.count {
            guard isDigit(scalars[i]) else {
                i += 1
                continue
            }
            let start = i
            while i < scalars.count, isDigit(scalars[i]) { i += 1 }
            let before = start > 0 ? scalars[start - 1] : nil
            let after = i < scalars.count ? scalars[i] : nil
            if let before, isWordScalar(before) { continue }
            if let after, isWordScalar(after) { continue }
            if before == ".", start >= 2, isDigit(scalars[start - 2]) { continue }
            if after == ".", i + 1 < scalars.count, isDigit(scalars[i + 1]) { continue }
            if i - start <= 18, let value = Int64(String(String.UnicodeScalarView(scalars[start..<i]))) {
                tokens.append(NumberToken(range: start..<i, value: value))
            }
        }
        return tokens
    }

    /// The pids from `known` that occur as whole-word numbers in `lines`, ascending: what
    /// bless writes as `pids=`. A measured number (`~1234`) is never taken for a pid.
    public static func pidsOccurring(in lines: [String], known: [Int32]) -> [Int32] {
        let set = Set(known.map(Int64.init))
        var found = Set<Int32>()
        for line in lines.map(maskMeasured) {
            for token in numberTokens(in: Array(line.unicodeScalars)) where set.contains(token.value) {
                found.insert(Int32(token.value))
            }
        }
        return found.sorted()
    }

    /// `line` with each pid from `pids` replaced by `<pid>`: the line's shape, blind to which
    /// process it names.
    static func maskPids(_ line: String, pids: Set<Int64>) -> String {
        replacePids(line, pids: pids) { _ in "<pid>" }
    }

    /// Replaces pids by `<pid N>`, numbering distinct pids 1, 2, … in order of first
    /// appearance when the lines are read in `order` (indices into `lines`; default: as
    /// given). The same pid always gets the same N, different pids different Ns; numbers not
    /// in `pids` stay literal. Returns the lines in their original order.
    public static func normalizePids(_ lines: [String], pids: [Int32], order: [Int]? = nil) -> [String] {
        let set = Set(pids.map(Int64.init))
        if set.isEmpty { return lines }
        var numbers: [Int64: Int] = [:]
        for index in order ?? Array(lines.indices) {
            for token in numberTokens(in: Array(lines[index].unicodeScalars)) where set.contains(token.value) {
                if numbers[token.value] == nil { numbers[token.value] = numbers.count + 1 }
            }
        }
        return lines.map { line in replacePids(line, pids: set) { "<pid \(numbers[$0]!)>" } }
    }

    private static func replacePids(_ line: String, pids: Set<Int64>, _ replacement: (Int64) -> String) -> String {
        if pids.isEmpty { return line }
        let scalars = Array(line.unicodeScalars)
        let tokens = numberTokens(in: scalars).filter { pids.contains($0.value) }
        if tokens.isEmpty { return line }
        var result = String.UnicodeScalarView()
        var position = 0
        for token in tokens {
            result.append(contentsOf: scalars[position..<token.range.lowerBound])
            result.append(contentsOf: replacement(token.value).unicodeScalars)
            position = token.range.upperBound
        }
        result.append(contentsOf: scalars[position...])
        return String(result)
    }

    // MARK: Measured numbers

    /// What a measured number becomes before lines are compared.
    static let measuredPlaceholder = "~<measured>"

    /// `line` with each measured number replaced by `~<measured>`. A measured number is a decimal
    /// number (`12`, `12.3`) written right after `~`: a timing or other reading that differs from
    /// run to run, which the book shows but does not check. Only the number is masked: the text
    /// around it, its unit included, is still compared. Linear in the length of the line.
    public static func maskMeasured(_ line: String) -> String {
        guard line.unicodeScalars.contains("~") else { return line }
        let scalars = Array(line.unicodeScalars)
        var result = String.UnicodeScalarView()
        var i = 0
        while i < scalars.count {
            guard scalars[i] == "~", i + 1 < scalars.count, isDigit(scalars[i + 1]) else {
                result.append(scalars[i])
                i += 1
                continue
            }
            i += 1
            while i < scalars.count, isDigit(scalars[i]) { i += 1 }
            if i + 1 < scalars.count, scalars[i] == ".", isDigit(scalars[i + 1]) {
                i += 1
                while i < scalars.count, isDigit(scalars[i]) { i += 1 }
            }
            result.append(contentsOf: measuredPlaceholder.unicodeScalars)
        }
        return String(result)
    }

    // MARK: Durations

    /// A line split at its durations: the text with each duration replaced by a placeholder,
    /// and the durations in seconds, in order.
    struct DurationSplit: Equatable {
        let skeleton: String
        let seconds: [Double]
    }

    private static let units: [(name: String, seconds: Double)] = [
        ("ns", 1e-9), ("µs", 1e-6), ("μs", 1e-6), ("us", 1e-6), ("ms", 1e-3), ("s", 1),
    ]

    /// Finds `<number><optional space><unit>` with unit ns, µs, us, ms or s, where the number
    /// starts a word and the unit ends one.
    static func splitDurations(_ line: String) -> DurationSplit {
        let scalars = Array(line.unicodeScalars)
        var skeleton = String.UnicodeScalarView()
        var seconds: [Double] = []
        var i = 0
        var copied = 0
        while i < scalars.count {
            guard isDigit(scalars[i]), i == 0 || (!isWordScalar(scalars[i - 1]) && scalars[i - 1] != ".") else {
                i += 1
                continue
            }
            let start = i
            while i < scalars.count, isDigit(scalars[i]) { i += 1 }
            if i + 1 < scalars.count, scalars[i] == ".", isDigit(scalars[i + 1]) {
                i += 1
                while i < scalars.count, isDigit(scalars[i]) { i += 1 }
            }
            let numberEnd = i
            var unitStart = i
            if unitStart < scalars.count, scalars[unitStart] == " " { unitStart += 1 }
            var matched: (end: Int, factor: Double)?
            for unit in units {
                let unitScalars = Array(unit.name.unicodeScalars)
                let end = unitStart + unitScalars.count
                guard end <= scalars.count, Array(scalars[unitStart..<end]) == unitScalars else { continue }
                if end < scalars.count, isWordScalar(scalars[end]) { continue }
                matched = (end, unit.seconds)
                break
            }
            guard let matched, let value = Double(String(String.UnicodeScalarView(scalars[start..<numberEnd]))) else {
                continue
            }
            skeleton.append(contentsOf: scalars[copied..<start])
            skeleton.append(contentsOf: "\u{1}duration\u{1}".unicodeScalars)
            seconds.append(value * matched.factor)
            i = matched.end
            copied = i
        }
        skeleton.append(contentsOf: scalars[copied...])
        return DurationSplit(skeleton: String(skeleton), seconds: seconds)
    }

    /// Whether two (pid-normalized) lines match: equal, or with `tolerance` percent, equal
    /// apart from durations that each lie within that relative distance of the expected one.
    public static func linesMatch(expected: String, actual: String, tolerance: Double?) -> Bool {
        if expected == actual { return true }
        guard let tolerance else { return false }
        let e = splitDurations(expected)
        let a = splitDurations(actual)
        guard e.skeleton == a.skeleton, e.seconds.count == a.seconds.count else { return false }
        for (x, y) in zip(e.seconds, a.seconds) where abs(x - y) > abs(x) * tolerance / 100 * (1 + 1e-9) {
            return false
        }
        return true
    }

    /// The text a line is sorted and grouped by when order does not count: pids and (with a
    /// tolerance) durations masked.
    static func shape(_ line: String, pids: Set<Int64>, tolerance: Double?) -> String {
        let masked = maskPids(line, pids: pids)
        return tolerance == nil ? masked : splitDurations(masked).skeleton
    }
}
