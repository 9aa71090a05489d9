import BookKit
import Glibc
import XCTest

/// The runtime's reference documentation: DocC (from the toolchain) builds it without a warning,
/// every public symbol has a doc comment, and the landing page lists every top-level symbol. It reads
/// the module that `swift test` has just built (its symbol graph is extracted from the build
/// directory): nothing is built here, so SwiftPM's lock on .build is never needed.
final class DocsTests: XCTestCase {
    private func tools() throws -> DocsTools {
        guard let tools = DocsTools.locate() else {
            throw XCTSkip("docc is not beside swift in PATH (it ships with the toolchain): the docs are not checked")
        }
        return tools
    }

    private func temporaryDirectory() throws -> String {
        var directory = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        var template = Array("\(directory)/docs-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let path = try XCTUnwrap(made.map { String(cString: $0) }, "cannot create a temporary directory")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    /// Which code spans count as unlinked mentions: the first of each public symbol in a public
    /// declaration's comment, not a parameter's name, not in a code block, not one the comment links.
    func testUnlinkedMentionsAreTheFirstOfEachSymbolInPublicComments() throws {
        let root = try temporaryDirectory()
        try """
        /// A counter. Unlike `Other`, it counts; see `Other.reset()` and `Other.reset`.
        public struct Counter {
            /// Adds `count` to the `total`, after `reset()`; `Counter` has it, `Other` too.
            /// ```swift
            /// let other = `Other`
            /// ```
            @discardableResult
            public func add(count: Int) -> Int { count }
            /// Like ``Other``, and `Other` again; `reset()` is this very method.
            public func reset() {}
            /// Its `total`.
            public var total: Int { 0 }
            /// `Other`, in an internal method's comment.
            func hidden() {}
        }

        """.write(toFile: "\(root)/Counter.swift", atomically: true, encoding: .utf8)
        let symbols = ["Counter", "Counter/add(count:)", "Counter/reset()", "Counter/total", "Other", "Other/reset()"]
            .map { DocSymbol(path: $0, kind: "", hasAbstract: true) }
        let mentions = DocComments.unlinkedMentions(in: ["\(root)/Counter.swift"], root: root, symbols: symbols)
        XCTAssertEqual(
            mentions.map(\.description),
            [
                "Counter.swift:1: `Other` → ``Other``",
                "Counter.swift:1: `Other.reset()` → ``Other/reset()``",
                "Counter.swift:3: `total` → ``total``",
                "Counter.swift:3: `reset()` → ``reset()``",
                "Counter.swift:3: `Counter` → ``Counter``",
                "Counter.swift:3: `Other` → ``Other``",
            ])
    }

    func testTheReferenceDocsHaveNoWarningsAndNoGaps() throws {
        let tools = try tools()
        let root = try XCTUnwrap(BookPaths.packageRoot(from: #filePath))
        let buildDirectory = try XCTUnwrap(BookPaths.executableDirectory(), "cannot locate the build directory")
        let work = try temporaryDirectory()

        let result = try DocsCheck(root: root, buildDirectory: buildDirectory)
            .run(tools: tools, workDirectory: work, output: "\(work)/Multiprocessing.doccarchive", strict: false)
        print(result.rendered(suggestions: false), terminator: "")
        XCTAssertTrue(
            result.isClean, "\n" + result.rendered(suggestions: false) + "List every gap with: make docs-coverage")
        // The coverage table was read: the runtime has a few hundred public symbols.
        XCTAssertGreaterThan(result.report.symbols.count, 200)
    }

    /// The check can fail: in a tiny module of its own, a broken ``link``, a parameter without its
    /// `- Parameter` entry, a public function without a doc comment, a type the landing page does not
    /// list, and a code span naming a public type are each reported; `link` turns the span into a link;
    /// with `strict` (as `make docs` runs it) DocC itself fails on the warnings.
    func testABrokenLinkAndEveryOtherGapAreReported() throws {
        let tools = try tools()
        let swiftc = try XCTUnwrap(tools.swiftc, "no swiftc beside docc")
        let root = try temporaryDirectory()
        let sources = "\(root)/Sources/Tiny"
        try FileManager.default.createDirectory(atPath: "\(sources)/Tiny.docc", withIntermediateDirectories: true)
        try """
        /// A widget, made by ``makeWidget()``, which does not exist.
        public struct Widget {
            /// Resizes it. Unlike `Gadget`, it keeps its proportions.
            /// - Parameter width: the new width.
            public func resize(width: Int, height: Int) {}
        }

        /// A gadget.
        public struct Gadget {}

        public func undocumented() {}

        """.write(toFile: "\(sources)/Tiny.swift", atomically: true, encoding: .utf8)
        try """
        # ``Tiny``

        A tiny module.

        ## Topics

        ### Things

        - ``Widget``

        """.write(toFile: "\(sources)/Tiny.docc/Tiny.md", atomically: true, encoding: .utf8)

        let build = "\(root)/build"
        try FileManager.default.createDirectory(atPath: "\(build)/Modules", withIntermediateDirectories: true)
        let compiled = try tools.runner.run(
            swiftc,
            [
                "-emit-module", "-emit-module-path", "\(build)/Modules/Tiny.swiftmodule", "-module-name", "Tiny",
                "-parse-as-library", "-module-cache-path", "\(root)/module-cache", "\(sources)/Tiny.swift",
            ], timeout: 300)
        XCTAssertTrue(compiled.succeeded, "swiftc \(compiled.termination)\n\(compiled.stderr)")

        var check = DocsCheck(root: root, buildDirectory: build)
        check.module = "Tiny"
        let result = try check.run(
            tools: tools, workDirectory: "\(root)/work", output: "\(root)/Tiny.doccarchive",
            strict: false)
        let report = result.rendered(suggestions: true)
        XCTAssertFalse(result.isClean, report)
        XCTAssertEqual(result.report.diagnostics.count, 2, report)
        XCTAssertTrue(
            result.report.diagnostics.contains {
                $0.hasPrefix("Sources/Tiny/Tiny.swift:1:") && $0.contains(": warning: 'makeWidget()' doesn't exist")
            }, report)
        XCTAssertTrue(
            result.report.diagnostics.contains {
                $0.hasPrefix("Sources/Tiny/Tiny.swift:") && $0.contains("Parameter 'height' is missing documentation")
            }, report)
        XCTAssertEqual(result.report.undocumented.map(\.path), ["undocumented()"], report)
        XCTAssertEqual(result.notOnLandingPage.map(\.path), ["Gadget", "undocumented()"], report)
        XCTAssertEqual(
            result.unlinkedMentions.map(\.description), ["Sources/Tiny/Tiny.swift:3: `Gadget` → ``Gadget``"],
            report)

        XCTAssertEqual(try DocComments.link(result.unlinkedMentions, root: root), 1)
        let linked = try String(contentsOfFile: "\(sources)/Tiny.swift", encoding: .utf8)
        XCTAssertTrue(linked.contains("/// Resizes it. Unlike ``Gadget``, it keeps its proportions.\n"), linked)

        let strict = try check.run(
            tools: tools, workDirectory: "\(root)/work", output: "\(root)/Strict.doccarchive",
            strict: true)
        XCTAssertTrue(
            strict.report.diagnostics.contains { $0.contains(": error: 'makeWidget()' doesn't exist") },
            strict.rendered(suggestions: false))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: "\(root)/Strict.doccarchive"), "DocC wrote the archive anyway")
    }
}
