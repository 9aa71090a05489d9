/// How an output block is compared with a fresh run of its cell.
public enum OutputMode: String, CaseIterable, Sendable, Hashable {
    /// The normalized lines must be equal, in order (the default).
    case exact
    /// The same multiset of normalized lines, in any order.
    case unordered
    /// Lines are grouped into streams by their text before the first `:`; each stream must
    /// match in order, while the streams may interleave freely.
    case interleaved
    /// Not run at all; the marker must give a `reason=`.
    case manual
}

/// A cell (or code region) named by a marker: `chapter3/daemon`.
public struct CellRef: Hashable, Sendable, CustomStringConvertible {
    /// The chapter binary's name, e.g. `chapter3`.
    public let chapter: String
    /// The cell id (output markers) or region name (code markers), e.g. `daemon`.
    public let name: String

    /// A reference to cell or region `name` of `chapter`.
    public init(chapter: String, name: String) {
        self.chapter = chapter
        self.name = name
    }

    public var description: String { "\(chapter)/\(name)" }

    /// Parses `chapterN/name`; nil when the text has another shape.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let number = chapterNumber(String(parts[0])), number >= 0 else { return nil }
        let name = String(parts[1])
        guard !name.isEmpty, name.unicodeScalars.allSatisfy(isNameScalar) else { return nil }
        self.init(chapter: String(parts[0]), name: name)
    }
}

/// The number N of a chapter name `chapterN`, or nil.
func chapterNumber(_ chapter: String) -> Int? {
    guard chapter.hasPrefix("chapter") else { return nil }
    let digits = chapter.dropFirst("chapter".count)
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    return Int(digits)
}

private func isNameScalar(_ s: Unicode.Scalar) -> Bool {
    switch s {
    case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": return true
    default: return false
    }
}

/// The settings of an output marker, parsed from its attributes.
public struct OutputAttributes: Sendable, Equatable {
    /// The comparison mode (`mode=`; default exact).
    public var mode: OutputMode = .exact
    /// `stderr=merged`: the cell runs with fd 2 = fd 1, and the block shows both.
    public var mergeStderr = false
    /// `timeout=<seconds>`: the hard limit for the run (default 60).
    public var timeout: Double = 60
    /// `tolerance=<percent>%`: durations compare within this relative tolerance.
    public var tolerance: Double?
    /// `reason="..."`: why a block is manual.
    public var reason: String?
    /// `pids=a,b,c`: the process ids of the run that produced the block (written by bless).
    public var pids: [Int32] = []

    /// The defaults: exact, stderr separate, 60 s, no tolerance, no reason, no pids.
    public init() {}
}

/// A fenced code block: ```` ```info ```` … ```` ``` ````.
public struct FencedBlock: Sendable, Equatable {
    /// Index (0-based) of the opening and closing fence lines in `Page.lines`.
    public let openLine: Int, closeLine: Int
    /// The fence character (backtick or tilde) and its length.
    public let fenceCharacter: Character, fenceLength: Int
    /// The info string after the opening fence (e.g. `swift`, `text`).
    public let info: String
    /// The spaces before the opening fence (0 to 3); removed from content lines.
    public let indent: String
    /// The lines between the fences.
    public let content: [String]
}

/// A `<!-- code: … -->` or `<!-- output: … -->` marker and the fenced block after it.
public struct Marker: Sendable {
    /// A code marker (its block copies a source region) or an output marker (its block is
    /// a cell's checked output).
    public enum Kind: Sendable {
        case code
        case output(OutputAttributes)
    }

    public let kind: Kind
    /// The region (code) or cell (output) the marker names.
    public let cell: CellRef
    /// Index (0-based) of the marker line in `Page.lines`.
    public let line: Int
    /// The fenced block on the very next line, or nil when there is none.
    public let block: FencedBlock?
    /// The attribute tokens as written (`key`, raw `key=value` text), for re-rendering.
    let tokens: [(key: String, raw: String)]
    /// The whitespace before `<!--`.
    let indent: String

    /// The output attributes, or nil for a code marker.
    public var output: OutputAttributes? {
        if case .output(let attributes) = kind { return attributes }
        return nil
    }

    /// The marker line with its `pids=` attribute set to `pids` (removed when empty), other
    /// attributes kept as written.
    func rendered(withPids pids: [Int32]) -> String {
        var raws: [String] = []
        var placed = false
        let pidsToken = pids.isEmpty ? nil : "pids=" + pids.map(String.init).joined(separator: ",")
        for token in tokens {
            if token.key == "pids" {
                if let pidsToken, !placed { raws.append(pidsToken) }
                placed = true
            } else {
                raws.append(token.raw)
            }
        }
        if let pidsToken, !placed { raws.append(pidsToken) }
        let kindName = output == nil ? "code" : "output"
        return indent + "<!-- \(kindName): \(cell)" + raws.map { " " + $0 }.joined() + " -->"
    }
}

/// A problem found while parsing a page or a source file, with its 1-based line.
public struct SourceProblem: Sendable, Equatable {
    /// The file as given to the parser.
    public let path: String
    public let line: Int
    public let message: String
}

/// A Markdown page of the book, split into lines, with its markers.
///
/// Markers are HTML comments alone on a line (`<!-- code: chapter3/daemon -->`,
/// `<!-- output: chapter3/daemon mode=unordered -->`), each immediately followed by a fenced
/// block. Comments inside fenced blocks are text, not markers. Parsing is linear in the size
/// of the page and never fails: malformed markers are collected in `problems`.
public struct Page: Sendable {
    /// The path given to `init(text:path:)`.
    public let path: String
    /// The page's lines without their `\n` (a `\r` stays part of its line).
    public let lines: [String]
    /// Whether the last line ended with `\n`.
    public let endsWithNewline: Bool
    /// The code and output markers, in page order.
    public let markers: [Marker]
    /// The figure markers, in page order.
    public let figures: [FigureMarker]
    /// Malformed markers and unterminated fences.
    public let problems: [SourceProblem]

    /// Parses `text`; `path` is used in problems and reports only.
    public init(text: String, path: String) {
        self.path = path
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        endsWithNewline = text.hasSuffix("\n")
        if endsWithNewline || text.isEmpty { lines.removeLast() }
        self.lines = lines
        var markers: [Marker] = []
        var figures: [FigureMarker] = []
        var problems: [SourceProblem] = []
        func problem(_ index: Int, _ message: String) {
            problems.append(SourceProblem(path: path, line: index + 1, message: message))
        }

        var index = 0
        while index < lines.count {
            if let open = parseFenceOpen(lines[index]) {
                guard let close = findFenceClose(lines, after: index, open: open) else {
                    problem(index, "unterminated fence (\(String(repeating: open.character, count: open.length)))")
                    break
                }
                index = close + 1
                continue
            }
            if let figure = parseFigureMarker(lines, at: index) {
                switch figure {
                case .success(let found): figures.append(found)
                case .failure(let error): problem(index, error.message)
                }
                index += 1
                continue
            }
            guard let parsed = parseMarkerLine(lines[index]) else {
                index += 1
                continue
            }
            switch parsed {
            case .failure(let message):
                problem(index, message.message)
                index += 1
            case .success(let found):
                var block: FencedBlock?
                var next = index + 1
                if next < lines.count, let open = parseFenceOpen(lines[next]) {
                    if let close = findFenceClose(lines, after: next, open: open) {
                        let content = lines[(next + 1)..<close].map { stripIndent($0, upTo: open.indent.count) }
                        block = FencedBlock(
                            openLine: next, closeLine: close, fenceCharacter: open.character,
                            fenceLength: open.length, info: open.info, indent: open.indent,
                            content: content)
                        next = close + 1
                    } else {
                        problem(next, "unterminated fence after the marker for \(found.cell)")
                        next = lines.count
                    }
                }
                markers.append(
                    Marker(
                        kind: found.kind, cell: found.cell, line: index, block: block,
                        tokens: found.tokens, indent: found.indent))
                index = next
            }
        }
        self.markers = markers
        self.figures = figures
        self.problems = problems
    }

    /// The page text again; `Page(text: t, path: p).text == t` for every `t`.
    public var text: String {
        lines.joined(separator: "\n") + (endsWithNewline ? "\n" : "")
    }
}

// MARK: - Fences

struct FenceOpen {
    let character: Character
    let length: Int
    let info: String
    let indent: String
}

/// A CommonMark fence opener: up to 3 spaces, then 3 or more backticks or tildes, then an
/// info string (without backticks for a backtick fence).
func parseFenceOpen(_ line: String) -> FenceOpen? {
    let indent = line.prefix(while: { $0 == " " })
    guard indent.count <= 3 else { return nil }
    let rest = line.dropFirst(indent.count)
    guard let first = rest.first, first == "`" || first == "~" else { return nil }
    let run = rest.prefix(while: { $0 == first })
    guard run.count >= 3 else { return nil }
    let info = trimmed(rest.dropFirst(run.count))
    if first == "`" && info.contains("`") { return nil }
    return FenceOpen(character: first, length: run.count, info: info, indent: String(indent))
}

/// The index of the line closing the fence opened at `openIndex`: up to 3 spaces, at least as
/// many fence characters, then only whitespace.
func findFenceClose(_ lines: [String], after openIndex: Int, open: FenceOpen) -> Int? {
    var index = openIndex + 1
    while index < lines.count {
        let line = lines[index]
        let indent = line.prefix(while: { $0 == " " })
        if indent.count <= 3 {
            let rest = line.dropFirst(indent.count)
            let run = rest.prefix(while: { $0 == open.character })
            if run.count >= open.length && trimmed(rest.dropFirst(run.count)).isEmpty { return index }
        }
        index += 1
    }
    return nil
}

private func stripIndent(_ line: String, upTo count: Int) -> String {
    var dropped = 0
    var rest = Substring(line)
    while dropped < count, rest.first == " " {
        rest = rest.dropFirst()
        dropped += 1
    }
    return String(rest)
}

/// Renders a fenced block whose fence is long enough for `content`: the preferred fence is
/// kept when no content line could close it, otherwise it is lengthened.
func renderFence(
    content: [String], info: String, indent: String = "",
    character: Character = "`", preferredLength: Int = 3
) -> [String] {
    var longest = 0
    for line in content {
        let rest = line.drop(while: { $0 == " " })
        longest = max(longest, rest.prefix(while: { $0 == character }).count)
    }
    let length = max(3, preferredLength, longest + 1)
    let fence = String(repeating: character, count: length)
    return [indent + fence + info] + content.map { $0.isEmpty ? $0 : indent + $0 } + [indent + fence]
}

func trimmed<S: StringProtocol>(_ text: S) -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
    guard let start = text.firstIndex(where: { !isSpace($0) }) else { return "" }
    let end = text.lastIndex(where: { !isSpace($0) })!
    return String(text[start...end])
}

// MARK: - Markers

struct ParsedMarker {
    let kind: Marker.Kind
    let cell: CellRef
    let tokens: [(key: String, raw: String)]
    let indent: String
}

/// Parses a marker line. Nil when the line is not a code/output marker at all (plain prose or
/// another HTML comment); a failure when it is one but malformed.
func parseMarkerLine(_ line: String) -> Result<ParsedMarker, MarkerSyntaxError>? {
    let text = trimmed(line)
    guard text.hasPrefix("<!--"), text.hasSuffix("-->"), text.count >= 7 else { return nil }
    let inner = trimmed(text.dropFirst(4).dropLast(3))
    let isCode: Bool
    if inner.hasPrefix("code:") {
        isCode = true
    } else if inner.hasPrefix("output:") {
        isCode = false
    } else {
        return nil
    }
    let indent = String(line.prefix(while: { $0 == " " || $0 == "\t" }))
    let body = inner.dropFirst(isCode ? 5 : 7)
    let words: [(key: String, raw: String, value: String?)]
    switch tokenize(body) {
    case .success(let found): words = found
    case .failure(let error): return .failure(error)
    }
    guard let first = words.first, first.value == nil else {
        return .failure(MarkerSyntaxError("marker needs a cell id like chapter3/daemon"))
    }
    guard let cell = CellRef(parsing: first.raw) else {
        return .failure(MarkerSyntaxError("bad cell id '\(first.raw)' (expected chapterN/name)"))
    }
    let attributeWords = words.dropFirst()
    if isCode {
        if let extra = attributeWords.first {
            return .failure(MarkerSyntaxError("code markers take no attributes (found '\(extra.raw)')"))
        }
        return .success(ParsedMarker(kind: .code, cell: cell, tokens: [], indent: indent))
    }
    var attributes = OutputAttributes()
    var seen = Set<String>()
    for word in attributeWords {
        guard let value = word.value else {
            return .failure(MarkerSyntaxError("attribute '\(word.raw)' needs a value (key=value)"))
        }
        guard seen.insert(word.key).inserted else {
            return .failure(MarkerSyntaxError("attribute '\(word.key)' given twice"))
        }
        switch word.key {
        case "mode":
            guard let mode = OutputMode(rawValue: value) else {
                return .failure(MarkerSyntaxError("unknown mode '\(value)' (exact, unordered, interleaved, manual)"))
            }
            attributes.mode = mode
        case "stderr":
            switch value {
            case "merged": attributes.mergeStderr = true
            case "separate": attributes.mergeStderr = false
            default: return .failure(MarkerSyntaxError("stderr= takes merged or separate, not '\(value)'"))
            }
        case "timeout":
            guard let seconds = Double(value), seconds.isFinite, seconds > 0 else {
                return .failure(MarkerSyntaxError("timeout= takes a positive number of seconds, not '\(value)'"))
            }
            attributes.timeout = seconds
        case "tolerance":
            guard value.hasSuffix("%"), let percent = Double(value.dropLast()), percent.isFinite, percent >= 0 else {
                return .failure(MarkerSyntaxError("tolerance= takes a percentage like 20%, not '\(value)'"))
            }
            attributes.tolerance = percent
        case "reason":
            guard !trimmed(value).isEmpty else { return .failure(MarkerSyntaxError("reason= is empty")) }
            attributes.reason = value
        case "pids":
            var pids: [Int32] = []
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                guard let pid = Int32(part), pid > 0 else {
                    return .failure(MarkerSyntaxError("pids= takes comma-separated process ids, not '\(value)'"))
                }
                pids.append(pid)
            }
            attributes.pids = pids
        default:
            return .failure(
                MarkerSyntaxError(
                    "unknown attribute '\(word.key)' (mode, stderr, timeout, tolerance, reason, pids)"))
        }
    }
    if attributes.mode == .manual && attributes.reason == nil {
        return .failure(MarkerSyntaxError("mode=manual needs reason=\"...\""))
    }
    let tokens = attributeWords.map { (key: $0.key, raw: $0.raw) }
    return .success(ParsedMarker(kind: .output(attributes), cell: cell, tokens: tokens, indent: indent))
}

struct MarkerSyntaxError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Splits marker text into words: `bare`, `key=value` or `key="quoted \" value"`.
private func tokenize(_ text: Substring) -> Result<[(key: String, raw: String, value: String?)], MarkerSyntaxError> {
    var words: [(key: String, raw: String, value: String?)] = []
    let chars = Array(text)
    var i = 0
    while i < chars.count {
        if chars[i] == " " || chars[i] == "\t" {
            i += 1
            continue
        }
        let start = i
        while i < chars.count, chars[i] != "=", chars[i] != " ", chars[i] != "\t" { i += 1 }
        let key = String(chars[start..<i])
        guard i < chars.count, chars[i] == "=" else {
            words.append((key: key, raw: key, value: nil))
            continue
        }
        i += 1
        var value = ""
        if i < chars.count, chars[i] == "\"" {
            i += 1
            var closed = false
            while i < chars.count {
                if chars[i] == "\\", i + 1 < chars.count {
                    value.append(chars[i + 1])
                    i += 2
                } else if chars[i] == "\"" {
                    closed = true
                    i += 1
                    break
                } else {
                    value.append(chars[i])
                    i += 1
                }
            }
            guard closed else { return .failure(MarkerSyntaxError("unterminated quote in \(key)=")) }
            guard i == chars.count || chars[i] == " " || chars[i] == "\t" else {
                return .failure(MarkerSyntaxError("text right after the closing quote of \(key)="))
            }
        } else {
            while i < chars.count, chars[i] != " ", chars[i] != "\t" {
                value.append(chars[i])
                i += 1
            }
        }
        words.append((key: key, raw: String(chars[start..<i]), value: value))
    }
    return .success(words)
}
