// The whole documentation check, as `book docs`, `book docs-coverage` and DocsTests run it.

import Glibc

/// The runtime's documentation, checked: the symbol graph of the built module, DocC's report on it
/// with the catalog, the top-level symbols missing from the landing page, and the unlinked mentions.
public struct DocsCheck: Sendable {
    /// The package root.
    public let root: String
    /// Where SwiftPM built the module, e.g. `.build/debug`.
    public let buildDirectory: String
    /// The documented module.
    public var module = "Multiprocessing"

    /// A check of `module`'s documentation in the package at `root`, built in `buildDirectory`.
    public init(root: String, buildDirectory: String) {
        self.root = root
        self.buildDirectory = buildDirectory
    }

    /// The module's documentation catalog.
    public var catalog: String { "\(root)/Sources/\(module)/\(module).docc" }

    /// Extracts the symbol graph into `workDirectory`, converts it to `output`, and collects the gaps.
    /// With `strict`, DocC writes no archive when it warns.
    /// - Throws: `BookError` when a tool fails (other than by reporting diagnostics).
    public func run(tools: DocsTools, workDirectory: String, output: String, strict: Bool) throws(BookError)
        -> DocsResult
    {
        let graphs = "\(workDirectory)/symbol-graphs"
        try tools.extractSymbolGraph(
            module: module, buildDirectory: buildDirectory, into: graphs,
            moduleCache: "\(workDirectory)/module-cache")
        let report = try tools.convert(
            catalog: catalog, symbolGraphs: graphs, output: output, root: root, strict: strict)
        let sources = FileSystem.files(under: "\(root)/Sources/\(module)", suffix: ".swift")
        return DocsResult(
            report: report,
            notOnLandingPage: DocComments.notOnLandingPage(catalog: catalog, module: module, symbols: report.symbols),
            unlinkedMentions: DocComments.unlinkedMentions(in: sources, root: root, symbols: report.symbols),
            landingPage: "Sources/\(module)/\(module).docc/\(module).md")
    }
}

/// What a documentation check found.
public struct DocsResult: Sendable {
    /// DocC's diagnostics and symbols.
    public let report: DocsReport
    /// Top-level symbols the landing page's Topics do not link.
    public let notOnLandingPage: [DocSymbol]
    /// Code spans that could be checked links.
    public let unlinkedMentions: [DocMention]
    /// The landing page, relative to the root (for the messages).
    public let landingPage: String

    /// True when DocC had nothing to say, every symbol has a summary, and the landing page lists every
    /// top-level symbol. (Unlinked mentions are suggestions: they do not count.)
    public var isClean: Bool {
        report.diagnostics.isEmpty && report.undocumented.isEmpty && notOnLandingPage.isEmpty
    }

    /// The gaps, section by section; with `suggestions`, the unlinked mentions too.
    public func rendered(suggestions: Bool) -> String {
        var text = ""
        func section(_ title: String, _ lines: [String]) {
            guard !lines.isEmpty else { return }
            text += "\(title) (\(lines.count)):\n" + lines.map { "  \($0)\n" }.joined()
        }
        section("DocC warnings", report.diagnostics)
        section("Public symbols without a doc comment", report.undocumented.map(\.description))
        section(
            "Top-level symbols missing from the Topics of \(landingPage)", notOnLandingPage.map { "``\($0.path)``" })
        if suggestions {
            section(
                "Code spans naming a public symbol; a ``link`` lets DocC check the name",
                unlinkedMentions.map(\.description))
        }
        let documented = report.symbols.count - report.undocumented.count
        text += "\(report.symbols.count) symbols, \(documented) with a summary; "
        text += isClean && (!suggestions || unlinkedMentions.isEmpty) ? "nothing missing.\n" : "see above.\n"
        return text
    }
}
