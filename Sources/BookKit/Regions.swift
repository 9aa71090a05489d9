/// A named region of a chapter's Swift sources: the lines between `// cell: <name>` and
/// `// end cell`, dedented, with trailing blank lines dropped.
public struct Region: Sendable, Equatable {
    /// The name after `// cell:`.
    public let name: String
    /// The source file and the 1-based line of its `// cell:` marker.
    public let path: String
    public let line: Int
    /// The region's lines as the book shows them.
    public let lines: [String]
}

/// The regions of one chapter's sources, and any problems found in their markers.
public struct RegionSet: Sendable {
    /// The regions in source order (files sorted by path).
    public let regions: [Region]
    /// Unterminated, nested, stray or duplicate markers.
    public let problems: [SourceProblem]

    /// Extracts the regions of several source files; region names must be unique across them.
    /// Linear in the size of the sources.
    public init(files: [(path: String, text: String)]) {
        var regions: [Region] = []
        var problems: [SourceProblem] = []
        var byName: [String: Region] = [:]
        for file in files {
            let (found, fileProblems) = RegionSet.extract(from: file.text, path: file.path)
            problems += fileProblems
            for region in found {
                if let first = byName[region.name] {
                    problems.append(
                        SourceProblem(
                            path: region.path, line: region.line,
                            message: "region '\(region.name)' is defined twice (first at \(first.path):\(first.line))"))
                } else {
                    byName[region.name] = region
                    regions.append(region)
                }
            }
        }
        self.regions = regions
        self.problems = problems
    }

    /// Loads every `.swift` file under `directory` (recursively) and extracts its regions.
    /// An unreadable file is a problem; a missing directory gives an empty set.
    public init(directory: String) {
        var files: [(path: String, text: String)] = []
        var unreadable: [SourceProblem] = []
        for path in FileSystem.files(under: directory, suffix: ".swift") {
            do {
                files.append((path: path, text: try FileSystem.readText(path)))
            } catch {
                unreadable.append(SourceProblem(path: path, line: 0, message: error.message))
            }
        }
        let set = RegionSet(files: files)
        self.regions = set.regions
        self.problems = unreadable + set.problems
    }

    /// The region named `name`, if any.
    public subscript(name: String) -> Region? {
        regions.first { $0.name == name }
    }

    /// The regions of one file, in order, plus marker problems (nested, unterminated, stray
    /// `// end cell`, empty name, duplicate within the file).
    static func extract(from text: String, path: String) -> ([Region], [SourceProblem]) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var regions: [Region] = []
        var problems: [SourceProblem] = []
        var open: (name: String, line: Int, body: [String])?
        for (index, line) in lines.enumerated() {
            let text = trimmed(line)
            if text.hasPrefix("// cell:") {
                let name = trimmed(text.dropFirst("// cell:".count))
                if let current = open {
                    problems.append(
                        SourceProblem(
                            path: path, line: index + 1,
                            message:
                                "region '\(name)' starts inside region '\(current.name)' (line \(current.line)); regions cannot nest"
                        ))
                    open = nil
                    continue
                }
                if name.isEmpty || name.contains(" ") || name.contains("\t") {
                    problems.append(
                        SourceProblem(
                            path: path, line: index + 1,
                            message: "bad region name '\(name)' (one word expected)"))
                    continue
                }
                open = (name: name, line: index + 1, body: [])
            } else if text == "// end cell" {
                guard let current = open else {
                    problems.append(
                        SourceProblem(
                            path: path, line: index + 1,
                            message: "'// end cell' without a '// cell: <name>' before it"))
                    continue
                }
                if regions.contains(where: { $0.name == current.name }) {
                    problems.append(
                        SourceProblem(
                            path: path, line: current.line,
                            message: "region '\(current.name)' is defined twice in this file"))
                } else {
                    regions.append(
                        Region(
                            name: current.name, path: path, line: current.line,
                            lines: dedent(current.body)))
                }
                open = nil
            } else if open != nil {
                open!.body.append(line)
            }
        }
        if let current = open {
            problems.append(
                SourceProblem(
                    path: path, line: current.line,
                    message: "region '\(current.name)' has no '// end cell'"))
        }
        return (regions, problems)
    }
}

/// Removes the leading whitespace common to all non-blank lines, and drops trailing blank
/// lines. Blank lines lose as much of that prefix as they have; other trailing whitespace stays.
func dedent(_ lines: [String]) -> [String] {
    var body = lines
    while let last = body.last, trimmed(last).isEmpty { body.removeLast() }
    let isBlank: (String) -> Bool = { $0.allSatisfy { $0 == " " || $0 == "\t" } }
    var common: [Character]?
    for line in body where !isBlank(line) {
        let indent = Array(line.prefix(while: { $0 == " " || $0 == "\t" }))
        if let current = common {
            common = Array(zip(current, indent).prefix(while: { $0 == $1 }).map { $0.0 })
        } else {
            common = indent
        }
    }
    let prefix = common ?? []
    return body.map { line in
        var rest = Substring(line)
        var i = 0
        while i < prefix.count, rest.first == prefix[i] {
            rest = rest.dropFirst()
            i += 1
        }
        return String(rest)
    }
}
