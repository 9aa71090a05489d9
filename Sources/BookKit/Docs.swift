// The runtime's reference documentation: its symbol graph through the toolchain's own DocC, what DocC
// reports (warnings, symbols without a summary), and two gaps DocC does not report: top-level symbols
// the landing page does not list, and code spans that name a public symbol without linking it (DocC
// checks a ``link``, never a `code span`, so a renamed symbol would leave a stale name behind).

import Glibc

/// One public symbol, as DocC's coverage table lists it.
public struct DocSymbol: Sendable, Equatable, CustomStringConvertible {
    /// The path below the module as a link writes it, e.g. `ChildProcess/join(timeout:)`, with the
    /// disambiguation suffix DocC needs for an overload (`-swift.struct`, `-27xx9`); empty for the
    /// module itself.
    public let path: String
    /// DocC's kind, e.g. `Instance Method`.
    public let kind: String
    /// Whether it has a summary: its own doc comment, or the one of the protocol requirement it
    /// implements (`description`, `encode(to:)`).
    public let hasAbstract: Bool

    /// Creates a symbol entry.
    public init(path: String, kind: String, hasAbstract: Bool) {
        self.path = path
        self.kind = kind
        self.hasAbstract = hasAbstract
    }

    public var description: String { path.isEmpty ? "the module itself (its landing page)" : "\(path) (\(kind))" }

    /// The path's components without disambiguation suffixes, e.g. ["PoolResults", "Values"].
    var plainComponents: [String] { path.split(separator: "/").map { DocSymbol.plain(String($0)) } }

    /// A path component without its disambiguation suffix: `Values-swift.struct` → `Values`,
    /// `decode(_:from:)-27xx9` → `decode(_:from:)`.
    static func plain(_ component: String) -> String {
        guard let dash = component.lastIndex(of: "-"), dash != component.startIndex else { return component }
        let suffix = component[component.index(after: dash)...]
        let isHash =
            (3...8).contains(suffix.count) && suffix.allSatisfy { $0.isNumber || ($0.isLetter && $0.isLowercase) }
        return suffix.hasPrefix("swift.") || isHash ? String(component[..<dash]) : component
    }
}

/// What one DocC run reported.
public struct DocsReport: Sendable {
    /// DocC's warnings and errors, one line each (`file:line:column: warning: message`), files
    /// relative to the package root.
    public var diagnostics: [String]
    /// Every symbol DocC documented (the module, its types and their members), by path.
    public var symbols: [DocSymbol]

    /// The symbols without a summary.
    public var undocumented: [DocSymbol] { symbols.filter { !$0.hasAbstract } }
}

/// The toolchain's documentation tools, found beside `swift` (or in PATH), and the two steps that
/// make an archive: extract a built module's symbol graph, convert it with a catalog.
///
/// Neither step builds anything, so both may run inside `swift test` (no SwiftPM lock is taken).
/// Cost: the extraction reads the built module (well under a second); the conversion takes DocC
/// about 1–2 s for the runtime.
public struct DocsTools: Sendable {
    /// DocC.
    public let docc: String
    /// `swift-symbolgraph-extract`.
    public let symbolGraphExtract: String
    /// The Swift compiler of the same toolchain, if present (to compile a module for a self-test).
    public let swiftc: String?
    /// Runs the tools (hermetically, with a time limit).
    public var runner = Runner()
    /// The time limit of one tool run, in seconds.
    public var timeout: Double = 300

    /// The tools of the toolchain whose `swift` comes first in PATH (following symbolic links), or
    /// else the first directory in PATH that holds both; nil when DocC is not installed.
    public static func locate() -> DocsTools? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        let entries = path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        var directories: [String] = []
        for entry in entries {
            if let swift = FileSystem.realPath(entry + "/swift"), let slash = swift.lastIndex(of: "/") {
                directories.append(String(swift[..<slash]))
            }
        }
        for directory in directories + entries {
            let docc = directory + "/docc"
            let extract = directory + "/swift-symbolgraph-extract"
            guard FileSystem.isExecutableFile(docc), FileSystem.isExecutableFile(extract) else { continue }
            let swiftc = directory + "/swiftc"
            return DocsTools(
                docc: docc, symbolGraphExtract: extract,
                swiftc: FileSystem.isExecutableFile(swiftc) ? swiftc : nil)
        }
        return nil
    }

    /// Writes the public symbol graph of `module`, built in `buildDirectory` (e.g. `.build/debug`),
    /// into `directory` (replacing the symbol graphs there). Synthesized members (`!=` and the like)
    /// are left out. The Clang modules it needs go to `moduleCache`, not to SwiftPM's own cache: a
    /// cache reached through two paths (`.build/debug` is a symbolic link) fails to load.
    /// - Throws: `BookError` when the extraction fails (e.g. the module is not built).
    public func extractSymbolGraph(
        module: String, buildDirectory: String, into directory: String,
        moduleCache: String
    ) throws(BookError) {
        try FileSystem.makeDirectories(directory)
        for name in try FileSystem.list(directory) where name.hasSuffix(".symbols.json") {
            FileSystem.remove("\(directory)/\(name)")
        }
        var arguments = [
            "-module-name", module, "-minimum-access-level", "public", "-skip-synthesized-members",
            "-output-dir", directory, "-module-cache-path", moduleCache,
            // The runtime re-exports its codec target (`@_exported import`): without this its public
            // symbols (BinaryEncoder, BinaryDecoder, CodecError) would be missing from the graph.
            "-experimental-allowed-reexported-modules=MultiprocessingCodec",
        ]
        for include in ["\(buildDirectory)/Modules", buildDirectory] where FileSystem.isDirectory(include) {
            arguments += ["-I", include]
        }
        // The module maps SwiftPM writes for C targets, for a module that imports one.
        for name in (try? FileSystem.list(buildDirectory)) ?? [] where name.hasSuffix(".build") {
            if FileSystem.exists("\(buildDirectory)/\(name)/module.modulemap") {
                arguments += ["-I", "\(buildDirectory)/\(name)"]
            }
        }
        let result = try runner.run(symbolGraphExtract, arguments, timeout: timeout)
        guard result.succeeded, FileSystem.exists("\(directory)/\(module).symbols.json") else {
            throw BookError(
                """
                swift-symbolgraph-extract \(result.termination) for \(module) in \(buildDirectory) (is it built?)
                \(result.stderr)\(result.stdout)
                """)
        }
    }

    /// Converts `catalog` and the symbol graphs in `symbolGraphs` into an archive at `output`, with
    /// inherited documentation and DocC's documentation coverage, and returns what DocC reported.
    /// With `strict`, DocC treats warnings as errors and writes no archive when there are any.
    /// - Throws: `BookError` when DocC fails for another reason than the diagnostics it reports.
    public func convert(
        catalog: String, symbolGraphs: String, output: String, root: String,
        strict: Bool
    ) throws(BookError) -> DocsReport {
        var arguments = [
            "convert", catalog, "--additional-symbol-graph-dir", symbolGraphs, "--output-path", output,
            "--ide-console-output", "--enable-inherited-docs",
            "--experimental-documentation-coverage", "--coverage-summary-level", "detailed",
        ]
        if strict { arguments.append("--warnings-as-errors") }
        let result = try runner.run(docc, arguments, timeout: timeout)
        // Sorted: DocC's order changes from run to run.
        let report = DocsReport(
            diagnostics: DocsTools.diagnostics(in: result.stderr + "\n" + result.stdout, root: root).sorted(),
            symbols: DocsTools.coverageTable(in: result.stdout).sorted { $0.path < $1.path })
        let failedOnDiagnostics = strict && !report.diagnostics.isEmpty && result.termination == .exited(1)
        guard result.succeeded || failedOnDiagnostics else {
            throw BookError("docc \(result.termination)\n\(result.stderr)\(result.stdout)")
        }
        return report
    }

    /// DocC's diagnostic lines (`--ide-console-output`: `file:line:column: warning: message`), with
    /// the package root stripped from the paths. Fix-it lines are left out (the warning names the fix).
    static func diagnostics(in output: String, root: String) -> [String] {
        // DocC names files as the compiler saw them: the root as given, or with its links resolved.
        let prefixes = Set([root, FileSystem.realPath(root) ?? root].map { $0.hasSuffix("/") ? $0 : $0 + "/" })
        var lines: [String] = []
        for raw in output.split(separator: "\n") {
            var line = String(raw)
            let isDiagnostic =
                line.contains(": warning: ") || line.contains(": error: ")
                || line.hasPrefix("warning: ") || line.hasPrefix("error: ")
            guard isDiagnostic else { continue }
            if let prefix = prefixes.first(where: { line.hasPrefix($0) }) {
                line = String(line.dropFirst(prefix.count))
            }
            lines.append(line)
        }
        return lines
    }

    /// The rows of DocC's detailed coverage table:
    /// `name | kind | abstract | curated | code listing | parameters | language | doc://Module/documentation/Module/path`.
    static func coverageTable(in output: String) -> [DocSymbol] {
        var symbols: [DocSymbol] = []
        for raw in output.split(separator: "\n") where raw.contains("| doc://") {
            let columns = raw.split(separator: "|", omittingEmptySubsequences: false)
                .map { trimmed($0) }
            // Articles are pages, not symbols: the landing page lists them, the table rates them anyway.
            guard columns.count >= 8, columns[1] != "Article", let reference = columns.last,
                let range = reference.firstRange(of: "/documentation/")
            else { continue }
            // After /documentation/: the module's name, then the symbol's path.
            let path = reference[range.upperBound...].split(separator: "/", maxSplits: 1).dropFirst().first ?? ""
            symbols.append(DocSymbol(path: String(path), kind: columns[1], hasAbstract: columns[2] == "true"))
        }
        return symbols
    }
}
