/// One way a page breaks the book's page conventions, with where.
public struct ConventionProblem: Sendable, Equatable, CustomStringConvertible {
    /// The page, as given to the check (relative to the package root when it lies inside it).
    public let path: String
    /// The 1-based line the problem is on; 0 when it concerns the page as a whole.
    public let line: Int
    /// What is wrong, in one line.
    public let message: String

    /// A problem with `path` at 1-based `line` (0: the whole page).
    public init(path: String, line: Int, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    /// `book/04-lock.md:42: …`, or `book/04-lock.md: …` for the whole page.
    public var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

/// What a relative link's target is, as `Conventions.linkProblems` needs to know it.
enum LinkedFile {
    case missing
    case directory
    /// A file; its text when it is a Markdown page (for its headings), nil otherwise.
    case file(markdown: String?)
}

/// The book's page conventions, checked on the pages' text (`book check` reports them, and
/// `NavigationTests` asserts them).
///
/// A chapter page (`book/NN-name.md`, chapter N):
/// - shows how to run each cell: the nearest non-blank line above every output marker that is not
///   manual is a visible sentence (not an HTML comment) containing the command in backticks,
///   "`swift run chapterN <cell>`", for that very cell (options or a redirection may follow the cell
///   inside the backticks: "`swift run chapter2 exit-codes 2>&1`"); when the block's mode is unordered or
///   interleaved, that line also says "one possible run" (in any case);
/// - has one `## Recap` section of 3 to 6 `- ` items (it ends at the next heading or at `---`);
/// - ends with a `---` line and then a navigation line that holds exactly these links, separated by
///   ` · `: the previous chapter (`← …`, not on chapter 1), `[Contents](README.md)`,
///   `[Python ↔ Swift](python-and-swift.md)`, and the next chapter (`… →`), or, on the last chapter,
///   `[Troubleshooting →](troubleshooting.md)`.
///
/// Every page of the book links `python-and-swift.md` (that page itself excepted), and every relative
/// link in the book's pages and in the top-level README resolves: its file exists and, when it names a
/// heading (`page.md#heading`), the page has that heading (GitHub's anchors).
public enum Conventions {
    /// The correspondence page, which every other page links.
    public static let correspondencePage = "python-and-swift.md"
    /// The page the last chapter's navigation leads to.
    public static let troubleshootingPage = "troubleshooting.md"
    /// The contents page.
    public static let contentsPage = "README.md"

    /// Checks the book in `bookDir` (and `<root>/README.md`, when it exists): every chapter page's
    /// conventions, every page's link to the correspondence page, every relative link. With
    /// `chapters` (`chapter3`, …), only those chapters' pages are checked. Paths in the problems are
    /// relative to `root` when they lie inside it. Reads the pages; changes nothing.
    public static func check(root: String, bookDir: String, chapters: Set<String>? = nil) -> [ConventionProblem] {
        func display(_ path: String) -> String {
            path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
        }
        let names = ((try? FileSystem.list(bookDir)) ?? []).filter { $0.hasSuffix(".md") }.sorted()
        let chapterPages = names.filter { pageChapter($0) != nil }
        var pages: [(path: String, name: String?)] = names.map { ("\(bookDir)/\($0)", $0) }
        let readme = "\(root)/README.md"
        if chapters == nil && FileSystem.exists(readme) { pages.append((readme, nil)) }

        var problems: [ConventionProblem] = []
        for (path, name) in pages {
            let chapter = name.flatMap(pageChapter)
            if let chapters, !(chapter.map(chapters.contains) ?? false) { continue }
            let shown = display(path)
            guard let text = try? FileSystem.readText(path) else {
                problems.append(ConventionProblem(path: shown, line: 0, message: "cannot read the page"))
                continue
            }
            if let name {
                if chapter != nil {
                    problems += chapterPageProblems(text, path: shown, fileName: name, chapterPages: chapterPages)
                } else if name != correspondencePage {
                    problems += correspondenceLinkProblems(text, path: shown)
                }
            }
            let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            problems += linkProblems(text, path: shown) { target in
                let resolved = normalizedPath(directory + "/" + target)
                if FileSystem.isDirectory(resolved) { return .directory }
                guard FileSystem.exists(resolved) else { return .missing }
                return .file(markdown: resolved.hasSuffix(".md") ? try? FileSystem.readText(resolved) : nil)
            }
        }
        return problems
    }

    // MARK: - Chapter pages

    /// The conventions of one chapter page: run lines above output blocks, the recap, the navigation.
    /// `chapterPages` are the file names of every chapter page of the book (`01-fork.md`, …), which
    /// give the previous and next chapter.
    public static func chapterPageProblems(
        _ text: String, path: String, fileName: String, chapterPages: [String]
    ) -> [ConventionProblem] {
        let page = Page(text: text, path: path)
        var problems: [ConventionProblem] = []
        func problem(_ index: Int, _ message: String) {
            problems.append(ConventionProblem(path: path, line: index + 1, message: message))
        }
        guard let number = pageChapter(fileName).flatMap(chapterNumber) else {
            return [ConventionProblem(path: path, line: 0, message: "not a chapter page (expected NN-name.md)")]
        }

        for marker in page.markers {
            guard let attributes = marker.output, attributes.mode != .manual else { continue }
            let command = "`swift run \(marker.cell.chapter) \(marker.cell.name)`"
            guard let above = (0..<marker.line).last(where: { !trimmed(page.lines[$0]).isEmpty }) else {
                problem(marker.line, "no sentence above the output block of \(marker.cell): say \(command)")
                continue
            }
            let line = page.lines[above]
            if trimmed(line).hasPrefix("<!--") {
                problem(above, "the line above the output block of \(marker.cell) is an HTML comment: show \(command)")
            } else if !line.contains(command) && !line.contains(command.dropLast() + " ") {
                problem(above, "the line above the output block of \(marker.cell) does not show \(command)")
            }
            let varies = attributes.mode == .unordered || attributes.mode == .interleaved
            if varies && !line.lowercased().contains("one possible run") {
                problem(
                    above,
                    "the output block of \(marker.cell) is mode=\(attributes.mode.rawValue): the line above it must say \"One possible run\""
                )
            }
        }

        let visible = visibleLineIndices(page.lines)
        let nonBlank = visible.filter { !trimmed(page.lines[$0]).isEmpty }
        let ruleIndex =
            nonBlank.count >= 2 && trimmed(page.lines[nonBlank[nonBlank.count - 2]]) == "---"
            ? nonBlank[nonBlank.count - 2] : nil

        // The recap: one section, 3 to 6 items, before the closing rule.
        let recaps = visible.filter { trimmed(page.lines[$0]) == "## Recap" }
        if recaps.isEmpty {
            problems.append(ConventionProblem(path: path, line: 0, message: "no \"## Recap\" section"))
        } else if recaps.count > 1 {
            problem(recaps[1], "a second \"## Recap\" section")
        } else if let start = recaps.first {
            var items = 0
            var index = start + 1
            while index < page.lines.count {
                let line = page.lines[index]
                if line.hasPrefix("#") || trimmed(line) == "---" { break }
                if line.hasPrefix("- ") { items += 1 }
                index += 1
            }
            if !(3...6).contains(items) {
                problem(start, "the recap has \(items) \"- \" item\(items == 1 ? "" : "s") (3 to 6 expected)")
            }
            if let ruleIndex, start > ruleIndex { problem(start, "the recap comes after the closing \"---\"") }
        }

        // The navigation: `---`, then the links, as the page's last two non-blank lines.
        let expected = navigation(number: number, chapterPages: chapterPages)
        let shape = expected.map { "[\($0.text)](\($0.target))" }.joined(separator: " · ")
        guard let last = nonBlank.last, ruleIndex != nil else {
            problems.append(
                ConventionProblem(
                    path: path, line: nonBlank.last.map { $0 + 1 } ?? 0,
                    message: "the page does not end with a \"---\" line and the navigation line: \(shape)"))
            return problems
        }
        let line = page.lines[last]
        let links = markdownLinks(in: line)
        var rest = line
        for link in links {
            if let range = rest.firstRange(of: link.source) { rest.removeSubrange(range) }
        }
        let targets = links.map(\.target)
        if targets != expected.map(\.target) {
            problem(
                last,
                "the navigation links to \(targets.isEmpty ? "nothing" : targets.joined(separator: ", ")); expected: \(shape)"
            )
        } else if !rest.allSatisfy({ $0 == " " || $0 == "·" }) {
            problem(last, "the navigation line holds more than its links: \(shape)")
        } else {
            for (link, want) in zip(links, expected) where !want.accepts(link.text) {
                problem(last, "the navigation link to \(want.target) reads \"\(link.text)\"; expected \(want.rule)")
            }
        }
        return problems
    }

    /// A link the navigation line must have: its target, and what its text must look like.
    struct NavigationLink {
        let target: String
        /// The text to show in messages.
        let text: String
        let rule: String
        let accepts: (String) -> Bool
    }

    /// The navigation links of chapter `number`, in order.
    static func navigation(number: Int, chapterPages: [String]) -> [NavigationLink] {
        func page(_ wanted: Int) -> String? {
            chapterPages.sorted().first { pageChapter($0).flatMap(chapterNumber) == wanted }
        }
        var links: [NavigationLink] = []
        if number > 1 {
            let previous = page(number - 1) ?? "\(number - 1 < 10 ? "0" : "")\(number - 1)-….md"
            links.append(
                NavigationLink(
                    target: previous, text: "← Chapter \(number - 1): …", rule: "\"← Chapter \(number - 1)…\"",
                    accepts: { $0.hasPrefix("← Chapter \(number - 1)") }))
        }
        links.append(
            NavigationLink(target: contentsPage, text: "Contents", rule: "\"Contents\"", accepts: { $0 == "Contents" }))
        links.append(
            NavigationLink(
                target: correspondencePage, text: "Python ↔ Swift", rule: "\"Python ↔ Swift\"",
                accepts: { $0 == "Python ↔ Swift" }))
        if let next = page(number + 1) {
            links.append(
                NavigationLink(
                    target: next, text: "Chapter \(number + 1): … →", rule: "\"Chapter \(number + 1)… →\"",
                    accepts: { $0.hasPrefix("Chapter \(number + 1)") && $0.hasSuffix(" →") }))
        } else {
            links.append(
                NavigationLink(
                    target: troubleshootingPage, text: "Troubleshooting →", rule: "\"Troubleshooting →\"",
                    accepts: { $0 == "Troubleshooting →" }))
        }
        return links
    }

    // MARK: - Links

    /// A page other than the correspondence page must link it.
    static func correspondenceLinkProblems(_ text: String, path: String) -> [ConventionProblem] {
        let lines = Page(text: text, path: path).lines
        let linked = visibleLineIndices(lines).contains { index in
            markdownLinks(in: lines[index]).contains { link in
                link.target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first
                    .map { $0.hasSuffix(correspondencePage) } ?? false
            }
        }
        return linked ? [] : [ConventionProblem(path: path, line: 0, message: "no link to \(correspondencePage)")]
    }

    /// Every relative link (and image) of the page, outside code: its target must exist (`lookup`
    /// gets the target's path, relative to the page's directory, percent-decoded and without its
    /// anchor), and its anchor, if any, must be a heading of the target page (or of this page, for
    /// `#anchor`).
    static func linkProblems(_ text: String, path: String, lookup: (String) -> LinkedFile) -> [ConventionProblem] {
        let lines = Page(text: text, path: path).lines
        var problems: [ConventionProblem] = []
        var ownAnchors: Set<String>?
        for index in visibleLineIndices(lines) {
            for link in markdownLinks(in: lines[index]) where isRelative(link.target) {
                let parts = link.target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
                let file = percentDecoded(String(parts[0]))
                let anchor = parts.count > 1 ? String(parts[1]) : nil
                var headings: Set<String>?
                if file.isEmpty {
                    if ownAnchors == nil { ownAnchors = anchors(of: text) }
                    headings = ownAnchors
                } else {
                    switch lookup(file) {
                    case .missing:
                        problems.append(
                            ConventionProblem(
                                path: path, line: index + 1, message: "broken link: \(link.target) does not exist"))
                        continue
                    case .directory, .file(markdown: nil):
                        headings = nil
                    case .file(let markdown?):
                        headings = anchors(of: markdown)
                    }
                }
                if let anchor, !anchor.isEmpty {
                    if let headings, !headings.contains(percentDecoded(anchor).lowercased()) {
                        problems.append(
                            ConventionProblem(
                                path: path, line: index + 1,
                                message:
                                    "broken link: \(link.target) names no heading of \(file.isEmpty ? "this page" : file)"
                            ))
                    }
                }
            }
        }
        return problems
    }

    /// The GitHub anchors of a page's headings (`## Without a lock, output can mix` →
    /// `without-a-lock-output-can-mix`; a repeated heading gets `-1`, `-2`, …).
    static func anchors(of text: String) -> Set<String> {
        let lines = Page(text: text, path: "").lines
        var result = Set<String>()
        var seen: [String: Int] = [:]
        for index in visibleLineIndices(lines) {
            let line = lines[index]
            let hashes = line.prefix(while: { $0 == "#" }).count
            guard (1...6).contains(hashes), line.dropFirst(hashes).first == " " else { continue }
            var title = trimmed(line.dropFirst(hashes))
            while title.hasSuffix("#") { title = trimmed(title.dropLast()) }
            let slug = anchor(ofHeading: title)
            let count = seen[slug, default: 0]
            seen[slug] = count + 1
            result.insert(count == 0 ? slug : "\(slug)-\(count)")
        }
        return result
    }

    /// GitHub's anchor for a heading: lowercase; letters, digits, `-` and `_` kept; spaces become `-`;
    /// everything else dropped.
    static func anchor(ofHeading title: String) -> String {
        var slug = ""
        for character in title.lowercased() {
            if character == " " {
                slug.append("-")
            } else if character.isLetter || character.isNumber || character == "-" || character == "_" {
                slug.append(character)
            }
        }
        return slug
    }

    private static func isRelative(_ target: String) -> Bool {
        if target.isEmpty || target.hasPrefix("/") { return false }
        // A scheme (`https:`, `mailto:`) comes before any `/`, `#` or `.`.
        let head = target.prefix(while: { $0 != "/" && $0 != "#" && $0 != "?" })
        return !head.contains(":")
    }
}

/// A Markdown link or image on one line: `[text](target "title")`.
struct MarkdownLink: Equatable {
    let text: String
    let target: String
    /// The link as written, brackets and parentheses included.
    let source: String
}

/// The inline links and images of one line, outside code spans, and a reference definition
/// (`[id]: target`) when the line is one.
func markdownLinks(in line: String) -> [MarkdownLink] {
    let characters = Array(line)
    var links: [MarkdownLink] = []
    let stripped = trimmed(line)
    if stripped.hasPrefix("["), let close = stripped.firstRange(of: "]: ") {
        let target = trimmed(stripped[close.upperBound...]).split(separator: " ").first.map(String.init) ?? ""
        let text = String(stripped[stripped.index(after: stripped.startIndex)..<close.lowerBound])
        return [MarkdownLink(text: text, target: target, source: stripped)]
    }
    var index = 0
    while index < characters.count {
        let character = characters[index]
        if character == "`" {
            // Skip a code span: a run of backticks up to the next run of the same length.
            let run = characters[index...].prefix(while: { $0 == "`" }).count
            var next = index + run
            var closed = false
            while next < characters.count {
                if characters[next] == "`" {
                    let other = characters[next...].prefix(while: { $0 == "`" }).count
                    next += other
                    if other == run {
                        closed = true
                        break
                    }
                } else {
                    next += 1
                }
            }
            index = closed ? next : index + run
            continue
        }
        guard character == "[" else {
            index += 1
            continue
        }
        let start = index > 0 && characters[index - 1] == "!" ? index - 1 : index
        var depth = 0
        var close = index
        while close < characters.count {
            if characters[close] == "[" { depth += 1 }
            if characters[close] == "]" {
                depth -= 1
                if depth == 0 { break }
            }
            close += 1
        }
        guard close + 1 < characters.count, characters[close + 1] == "(" else {
            index += 1
            continue
        }
        var parens = 0
        var end = close + 1
        while end < characters.count {
            if characters[end] == "(" { parens += 1 }
            if characters[end] == ")" {
                parens -= 1
                if parens == 0 { break }
            }
            end += 1
        }
        guard end < characters.count else {
            index += 1
            continue
        }
        var target = trimmed(String(characters[(close + 2)..<end]))
        if target.hasPrefix("<"), let closing = target.firstIndex(of: ">") {
            target = String(target[target.index(after: target.startIndex)..<closing])
        } else if let space = target.firstIndex(of: " ") {
            target = String(target[..<space])
        }
        links.append(
            MarkdownLink(
                text: String(characters[(index + 1)..<close]), target: target,
                source: String(characters[start...end])))
        index = end + 1
    }
    return links
}

/// The indices of the lines outside fenced code blocks.
func visibleLineIndices(_ lines: [String]) -> [Int] {
    var result: [Int] = []
    var index = 0
    while index < lines.count {
        if let open = parseFenceOpen(lines[index]) {
            index = (findFenceClose(lines, after: index, open: open) ?? lines.count) + 1
            continue
        }
        result.append(index)
        index += 1
    }
    return result
}

/// `%20` and the like decoded; anything malformed is left as it is.
func percentDecoded(_ text: String) -> String {
    guard text.contains("%") else { return text }
    var bytes: [UInt8] = []
    let utf8 = Array(text.utf8)
    var index = 0
    while index < utf8.count {
        if utf8[index] == UInt8(ascii: "%"), index + 2 < utf8.count,
            let value = UInt8(String(decoding: utf8[(index + 1)...(index + 2)], as: UTF8.self), radix: 16)
        {
            bytes.append(value)
            index += 3
        } else {
            bytes.append(utf8[index])
            index += 1
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// `a/./b/../c` → `a/c`: the path without `.` and `..` components (a leading `..` stays).
func normalizedPath(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: false) {
        if part == "." { continue }
        if part == "..", let last = parts.last, last != "..", !last.isEmpty {
            parts.removeLast()
            continue
        }
        parts.append(part)
    }
    return parts.joined(separator: "/")
}
