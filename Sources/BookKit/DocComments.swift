// Doc comments read as text: the code spans that name a public symbol without linking it (DocC
// checks a ``link``, never a `code span`), and turning them into links.

import Glibc

/// A code span in a public symbol's doc comment that names a public symbol without linking it.
public struct DocMention: Sendable, Equatable, CustomStringConvertible {
    /// The file, relative to the package root.
    public let file: String
    /// The line, from 1.
    public let line: Int
    /// Where the span's opening backtick is in the line, in UTF-8 bytes from 0.
    public let column: Int
    /// The span's text, without its backticks.
    public let text: String
    /// The links it may stand for, as a comment writes them (more than one for overloads).
    public let links: [String]

    public var description: String {
        "\(file):\(line): `\(text)` → " + links.map { "``\($0)``" }.joined(separator: " or ")
    }
}

/// Reading doc comments in Swift sources, without a parser: good enough to point a person at gaps.
public enum DocComments {
    /// The code spans (`name`) in the doc comments of public declarations in `files` that name a
    /// symbol of `symbols`: a top-level type or function (`ChildProcess`, `forkProcess()`), a member
    /// through its type (`SyncError.system`, `Lock.release()`), an initializer (`Queue(maxSize:)`), or a
    /// member of the type the comment is in (`start()`; a property only when no parameter of the
    /// documented function has its name). Only the first mention of a symbol in a comment counts,
    /// and none when the comment links it already; spans in code blocks and mentions of the
    /// documented symbol itself are left out.
    public static func unlinkedMentions(in files: [String], root: String, symbols: [DocSymbol]) -> [DocMention] {
        let index = SymbolIndex(symbols)
        var mentions: [DocMention] = []
        for file in files {
            guard let text = try? FileSystem.readText(file) else { continue }
            let relative = file.hasPrefix(root + "/") ? String(file.dropFirst(root.count + 1)) : file
            mentions += scan(
                lines: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init),
                file: relative, index: index)
        }
        return mentions
    }

    /// Turns every mention that has exactly one link into that link, in place (files relative to
    /// `root`); returns how many it changed. Mentions with several candidates are left to a person.
    /// - Throws: `BookError` when a file cannot be read or written.
    public static func link(_ mentions: [DocMention], root: String) throws(BookError) -> Int {
        var changed = 0
        var byFile: [String: [DocMention]] = [:]
        for mention in mentions where mention.links.count == 1 { byFile[mention.file, default: []].append(mention) }
        for (file, fileMentions) in byFile.sorted(by: { $0.key < $1.key }) {
            let path = "\(root)/\(file)"
            var lines = try FileSystem.readText(path).split(separator: "\n", omittingEmptySubsequences: false).map(
                String.init)
            // From the end of each line, so that earlier columns stay valid.
            for mention in fileMentions.sorted(by: { ($0.line, $0.column) > ($1.line, $1.column) }) {
                var bytes = Array(lines[mention.line - 1].utf8)
                let old = Array("`\(mention.text)`".utf8)
                guard mention.column + old.count <= bytes.count,
                    Array(bytes[mention.column..<mention.column + old.count]) == old
                else { continue }
                bytes.replaceSubrange(
                    mention.column..<mention.column + old.count, with: Array("``\(mention.links[0])``".utf8))
                lines[mention.line - 1] = String(decoding: bytes, as: UTF8.self)
                changed += 1
            }
            try FileSystem.writeTextAtomically(path, lines.joined(separator: "\n"))
        }
        return changed
    }

    /// The top-level symbols that the landing page (the catalog's page titled ``Module``) does not
    /// link in its Topics section.
    public static func notOnLandingPage(catalog: String, module: String, symbols: [DocSymbol]) -> [DocSymbol] {
        let topLevel = symbols.filter { !$0.path.isEmpty && !$0.path.contains("/") }
        let pages = FileSystem.files(under: catalog, suffix: ".md")
        guard
            let landing = pages.compactMap({ try? FileSystem.readText($0) })
                .first(where: { $0.hasPrefix("# ``\(module)``") }),
            let topics = landing.firstRange(of: "\n## Topics")
        else { return topLevel }
        let linked = Set(links(in: String(landing[topics.upperBound...])).map { DocSymbol.plain($0) })
        return topLevel.filter { !linked.contains(DocSymbol.plain($0.path)) }
    }

    /// The targets of the ``links`` in `text`.
    static func links(in text: String) -> [String] {
        var result: [String] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "``") {
            rest = rest[open.upperBound...]
            guard let close = rest.firstRange(of: "``") else { break }
            result.append(String(rest[..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return result
    }

    /// The single-backtick code spans of one line, with the UTF-8 offset of each opening backtick;
    /// ``links`` are skipped.
    static func codeSpans(_ line: String) -> [(text: String, column: Int)] {
        var spans: [(String, Int)] = []
        let bytes = Array(line.utf8)
        let tick = UInt8(ascii: "`")
        var position = 0
        while position < bytes.count {
            guard bytes[position] == tick else {
                position += 1
                continue
            }
            var run = position
            while run < bytes.count && bytes[run] == tick { run += 1 }
            let length = run - position
            // The span ends at the next run of exactly as many backticks.
            var end = run
            var close: Int?
            while end < bytes.count {
                if bytes[end] == tick {
                    var endRun = end
                    while endRun < bytes.count && bytes[endRun] == tick { endRun += 1 }
                    if endRun - end == length {
                        close = end
                        break
                    }
                    end = endRun
                } else {
                    end += 1
                }
            }
            guard let close else { break }
            if length == 1 { spans.append((String(decoding: bytes[run..<close], as: UTF8.self), position)) }
            position = close + length
        }
        return spans
    }

    /// A type (or extension) declared by `line`, if it declares one: its name, its keyword, and
    /// whether it is public (an extension counts as public: its members say for themselves).
    private static func declaredType(_ line: String) -> (name: String, kind: String, isPublic: Bool)? {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        for (position, word) in words.enumerated().dropLast()
        where ["class", "struct", "enum", "extension", "protocol", "actor"].contains(word) {
            let modifiers = words[..<position]
            let keywords = ["public", "open", "internal", "private", "fileprivate", "package", "final", "indirect"]
            guard modifiers.allSatisfy({ keywords.contains(String($0)) || $0.hasPrefix("@") }) else { return nil }
            let name = words[position + 1].prefix { $0.isLetter || $0.isNumber || $0 == "_" }
            guard !name.isEmpty else { return nil }
            let isPublic = modifiers.contains("public") || modifiers.contains("open") || word == "extension"
            return (String(name), String(word), isPublic)
        }
        return nil
    }

    private static func indentation(_ line: String) -> Int { line.prefix { $0 == " " }.count }

    private static func scan(lines: [String], file: String, index: SymbolIndex) -> [DocMention] {
        var mentions: [DocMention] = []
        // The types enclosing the current line, outermost first.
        var scopes: [(indent: Int, name: String, kind: String, isPublic: Bool)] = []
        func enter(_ line: String) {
            guard !trimmed(line).hasPrefix("//"), let type = declaredType(trimmed(line)) else { return }
            let indent = indentation(line)
            scopes.removeAll { $0.indent >= indent }
            scopes.append((indent, type.name, type.kind, type.isPublic))
        }
        var lineIndex = 0
        while lineIndex < lines.count {
            let line = lines[lineIndex]
            guard trimmed(line).hasPrefix("///") else {
                enter(line)
                lineIndex += 1
                continue
            }
            let blockStart = lineIndex
            let indent = indentation(line)
            while lineIndex < lines.count && trimmed(lines[lineIndex]).hasPrefix("///") { lineIndex += 1 }
            // The declaration: the lines after the comment, attributes included, up to its body.
            var declaration = ""
            var next = lineIndex
            while next < lines.count && next < lineIndex + 12 {
                let text = trimmed(lines[next])
                declaration += " " + text
                let open = text.filter { $0 == "(" }.count
                let close = text.filter { $0 == ")" }.count
                if text.contains("{") || text.contains("}")
                    || (!text.hasPrefix("@") && !text.hasSuffix(",") && !text.hasSuffix("(") && open <= close)
                {
                    break
                }
                next += 1
            }
            let enclosing = scopes.filter { $0.indent < indent }
            let words = declaration.split(whereSeparator: { " (:<".contains($0) })
            let isCase = words.first { !$0.hasPrefix("@") } == "case"
            let inPublicTypes = enclosing.allSatisfy(\.isPublic)
            let isPublic =
                (words.contains("public") || words.contains("open")) && inPublicTypes
                || (isCase && enclosing.last?.kind == "enum" && inPublicTypes && !enclosing.isEmpty)
            guard isPublic else { continue }

            let documentedType = declaredType(trimmed(declaration)).map { enclosing.map(\.name) + [$0.name] }
            let scope = documentedType ?? enclosing.map(\.name)
            let ownName = documentedType == nil ? declaredName(words) : nil
            let parameters = parameterNames(declaration)
            // What the comment links already, as plain paths: a symbol it links needs no other link.
            var linked: Set<String> = []
            for docIndex in blockStart..<lineIndex {
                for link in links(in: lines[docIndex]) { linked.formUnion(index.resolveLink(link, scope: scope)) }
            }
            var inCodeBlock = false
            for docIndex in blockStart..<lineIndex {
                if trimmed(trimmed(lines[docIndex]).dropFirst(3)).hasPrefix("```") {
                    inCodeBlock.toggle()
                    continue
                }
                if inCodeBlock { continue }
                for span in codeSpans(lines[docIndex]) {
                    let candidates = index.resolve(span.text, scope: scope, parameters: parameters).filter {
                        candidate in
                        if let documentedType, candidate.plain == documentedType.joined(separator: "/") { return false }
                        if let ownName, candidate.plain.split(separator: "/").dropLast().map(String.init) == scope,
                            baseName(String(candidate.plain.split(separator: "/").last ?? "")) == ownName
                        {
                            return false
                        }
                        return true
                    }
                    guard !candidates.isEmpty, !candidates.contains(where: { linked.contains($0.plain) }) else {
                        continue
                    }
                    linked.formUnion(candidates.map(\.plain))
                    mentions.append(
                        DocMention(
                            file: file, line: docIndex + 1, column: span.column, text: span.text,
                            links: candidates.map(\.link)))
                }
            }
        }
        return mentions
    }

    /// The name a member declaration declares: `join` for `public func join(timeout:…`, `init` for
    /// an initializer.
    private static func declaredName(_ words: [Substring]) -> String? {
        for (position, word) in words.enumerated() {
            if word == "init" || word == "init?" || word == "subscript" {
                return String(word.prefix(while: { $0 != "?" }))
            }
            if ["func", "var", "let", "case"].contains(word), position + 1 < words.count {
                return String(words[position + 1].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
            }
        }
        return nil
    }

    /// The labels and names of a function declaration's parameters.
    private static func parameterNames(_ declaration: String) -> Set<String> {
        guard let open = declaration.firstIndex(of: "(") else { return [] }
        var names: Set<String> = []
        var depth = 0
        var word = ""
        var words: [String] = []
        for character in declaration[open...] {
            switch character {
            case "(", "[", "<": depth += 1
            case ")", "]", ">": depth -= 1
            default: break
            }
            if depth == 0 { break }
            if character.isLetter || character.isNumber || character == "_" {
                word.append(character)
                continue
            }
            if !word.isEmpty { words.append(word) }
            word = ""
            // `label name:` or `name:`: a comment may use either.
            if character == ":" && depth == 1 { names.formUnion(words.suffix(2)) }
            if character == "," && depth == 1 { words = [] }
        }
        return names
    }
}

/// `join(timeout:)` → `join`.
private func baseName(_ component: String) -> String {
    String(component.prefix { $0 != "(" })
}

/// The symbols by their plain path, for resolving what a code span or a link names.
private struct SymbolIndex {
    /// A symbol a span may name: its plain path (components without suffixes, joined by "/") and
    /// the link a comment would write for it.
    struct Candidate {
        let plain: String
        let link: String
    }

    /// Plain path → the paths a link writes (several for overloads).
    var byPlainPath: [String: [String]] = [:]
    /// Plain parent path → (base name, plain last component, path) of each child.
    var children: [String: [(base: String, plain: String, path: String)]] = [:]

    init(_ symbols: [DocSymbol]) {
        for symbol in symbols where !symbol.path.isEmpty {
            let plain = symbol.plainComponents
            byPlainPath[plain.joined(separator: "/"), default: []].append(symbol.path)
            let last = plain.last!
            children[plain.dropLast().joined(separator: "/"), default: []].append((baseName(last), last, symbol.path))
        }
    }

    /// The plain paths a ``link`` written inside `scope` may reach (DocC looks in the scope, then outwards).
    func resolveLink(_ link: String, scope: [String]) -> [String] {
        let components = link.split(separator: "/").map { DocSymbol.plain(String($0)) }
        for depth in stride(from: scope.count, through: 0, by: -1) {
            let plain = (scope[..<depth] + components).joined(separator: "/")
            if byPlainPath[plain] != nil { return [plain] }
        }
        return []
    }

    /// The symbols that `span` names, seen from a comment inside `scope` (the enclosing types).
    func resolve(_ span: String, scope: [String], parameters: Set<String>) -> [Candidate] {
        var text = ""
        var depth = 0
        for character in span {  // generic arguments go: `Connection<M>.makePipe` names `Connection.makePipe`
            if character == "<" {
                depth += 1
            } else if character == ">" {
                depth -= 1
            } else if depth == 0 {
                text.append(character)
            }
        }
        guard let first = text.first, first.isLetter || first == "_", !text.contains(" "), depth == 0 else { return [] }
        var components: [String] = []
        var current = ""
        for character in text {
            if character == "(" { depth += 1 } else if character == ")" { depth -= 1 }
            if character == "." && depth == 0 {
                components.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        components.append(current)
        if components.contains(where: \.isEmpty) { return [] }

        if components.count > 1 {
            // `Type.member`; `currentProcess().name` is an expression, not a path.
            if components.dropLast().contains(where: { $0.contains("(") }) { return [] }
            return lookup(parent: components.dropLast().joined(separator: "/"), components.last!, relativeTo: 0)
        }
        let name = components[0]
        let isCall = name.contains("(")
        // A member of an enclosing type, innermost first; a bare property name only when it is not a parameter's.
        if isCall || !parameters.contains(name) {
            for depth in stride(from: scope.count, to: 0, by: -1) {
                let found = lookup(parent: scope[..<depth].joined(separator: "/"), name, relativeTo: depth)
                if !found.isEmpty { return found }
            }
        }
        if let paths = byPlainPath[name] { return paths.map { Candidate(plain: name, link: $0) } }
        // `Queue(maxSize:)`: an initializer of a top-level type, by some of its labels.
        let type = baseName(name)
        if isCall, byPlainPath[type] != nil {
            let labels = Set(name.dropFirst(type.count).split(whereSeparator: { "():".contains($0) }))
            return (children[type] ?? []).filter { child in
                child.base == "init"
                    && labels.isSubset(of: Set(child.plain.dropFirst(4).split(whereSeparator: { "():".contains($0) })))
            }.map { Candidate(plain: "\(type)/\($0.plain)", link: $0.path) }
        }
        return []
    }

    /// A child of `parent` named `name` exactly, or else (a name without parentheses) every child with
    /// that base name: `SyncError.system` names `SyncError/system(_:)`. The link drops the first
    /// `relativeTo` components (the comment's own scope, where DocC looks first).
    private func lookup(parent: String, _ name: String, relativeTo depth: Int) -> [Candidate] {
        let candidates = children[parent] ?? []
        var found = candidates.filter { $0.plain == name }
        if found.isEmpty && !name.contains("(") { found = candidates.filter { $0.base == name } }
        return found.map { child in
            let plain = parent.isEmpty ? child.plain : "\(parent)/\(child.plain)"
            return Candidate(
                plain: plain, link: child.path.split(separator: "/").dropFirst(depth).joined(separator: "/"))
        }
    }
}
