import BookKit
import Foundation
import FoundationXML
import XCTest

/// Figures: the description in a figure's <metadata> is compared with a fresh traced run of its
/// cell; a mutated figure is caught, update draws once and then leaves the file alone, and every
/// figure of the book is a well-formed, self-contained SVG.
final class FigureTests: XCTestCase {
    private var root = ""
    private var binDir = ""
    private var book = ""

    override func setUpWithError() throws {
        root = try XCTUnwrap(BookPaths.packageRoot(from: #filePath), "no Package.swift above \(#filePath)")
        binDir = try XCTUnwrap(BookPaths.executableDirectory(), "cannot locate the build directory")
        book = NSTemporaryDirectory() + "figure-tests-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: book + "/figures", withIntermediateDirectories: true)
        // A page with only the figure: no output block runs, only the figure's traced run.
        let page = """
            # Figures

            <!-- figure: chapter4/clean compare=lanes,events,holders -->
            ![What to look at](figures/chapter4-clean.svg)

            """
        try page.write(toFile: book + "/04-figures.md", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: book)
    }

    private var figurePath: String { book + "/figures/chapter4-clean.svg" }

    /// The failures about the figure (the page lacks the chapter's output blocks on purpose).
    private func figureFailures(update: Bool = false, chapter: String = "chapter4") -> [String] {
        let checker = BookChecker(root: root, binDir: binDir, bookDir: book)
        let report = update ? checker.update(chapters: [chapter]) : checker.check(chapters: [chapter])
        return report.failures.filter { $0.message.contains("figure") }.map(\.rendered)
    }

    func testTheMarkerNeedsItsImage() {
        let good = Page(text: "<!-- figure: chapter4/clean -->\n![caption](figures/a.svg)\n", path: "p.md")
        XCTAssertEqual(good.figures.map(\.image), ["figures/a.svg"])
        XCTAssertEqual(good.figures.first?.compared, ["lanes", "events"])
        XCTAssertTrue(good.problems.isEmpty)
        let missing = Page(text: "<!-- figure: chapter4/clean -->\nprose\n", path: "p.md")
        XCTAssertTrue(missing.figures.isEmpty)
        XCTAssertEqual(missing.problems.count, 1)
        let unknown = Page(text: "<!-- figure: chapter4/clean compare=colours -->\n![c](f.svg)\n", path: "p.md")
        XCTAssertEqual(unknown.problems.count, 1)
        let sections = Page(
            text: "<!-- figure: chapter5/limit compare=lanes,most,pool -->\n![c](f.svg)\n", path: "p.md")
        XCTAssertEqual(sections.figures.first?.compared, ["lanes", "most", "pool"])
        XCTAssertTrue(sections.problems.isEmpty)
    }

    /// Copies the book's figure of `cell` (`chapter5/limit`) into the test's book, embedded on a page of
    /// its own that compares `sections`; returns its path.
    private func embed(_ cell: String, compare sections: String) throws -> String {
        let file = cell.replacingOccurrences(of: "/", with: "-") + ".svg"
        let number = cell.dropFirst("chapter".count).prefix { $0 != "/" }
        let page = "# Figure\n\n<!-- figure: \(cell) compare=\(sections) -->\n![What to look at](figures/\(file))\n"
        try page.write(toFile: book + "/0\(number)-figure.md", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: root + "/book/figures/" + file, toPath: book + "/figures/" + file)
        return book + "/figures/" + file
    }

    /// Replaces `old` by `new` in the file at `path`, which must contain it.
    private func mutate(_ path: String, _ old: String, _ new: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.contains(old), "\(path) lacks \(old)")
        try text.replacingOccurrences(of: old, with: new).write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// Embeds `cell`'s figure comparing `compare`, writes `mutated` where its description says
    /// `truth`: the check must catch it (showing `truth` as the fresh line) and update must repair it.
    private func assertCaughtAndRepaired(
        _ cell: String, compare: String, truth: String, mutated: String, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let chapter = String(cell.prefix { $0 != "/" })
        let path = try embed(cell, compare: compare)
        XCTAssertEqual(figureFailures(chapter: chapter), [], file: file, line: line)
        try mutate(path, truth, mutated)
        let caught = figureFailures(chapter: chapter)
        XCTAssertEqual(caught.count, 1, "\(caught)", file: file, line: line)
        XCTAssertTrue(caught.first?.contains("-" + mutated) == true, "\(caught)", file: file, line: line)
        XCTAssertTrue(caught.first?.contains("+" + truth) == true, "\(caught)", file: file, line: line)
        XCTAssertEqual(figureFailures(update: true, chapter: chapter), [], file: file, line: line)
        XCTAssertTrue(try String(contentsOfFile: path, encoding: .utf8).contains(truth), file: file, line: line)
        XCTAssertEqual(figureFailures(chapter: chapter), [], file: file, line: line)
    }

    /// The limit the semaphore's cell sets is in the figure's `most` section: a figure that shows
    /// three inside at once is caught, and update redraws it with two.
    func testAFigureShowingTheSemaphoreLimitBrokenIsCaught() throws {
        try assertCaughtAndRepaired(
            "chapter5/limit", compare: "lanes,most", truth: "slots: at most 2 taken at once",
            mutated: "slots: at most 3 taken at once")
    }

    /// A semaphore made with 0 and released before it is taken (`full`) has no exact count of units
    /// taken, so the bounded buffer's figure counts `empty` only.
    func testOnlyExactSemaphoresAreCounted() throws {
        let text = try String(contentsOfFile: root + "/book/figures/chapter5-bounded-buffer.svg", encoding: .utf8)
        let most = try XCTUnwrap(figureDescription(ofSVG: text)?["most"])
        XCTAssertEqual(most.count, 1, "\(most)")
        XCTAssertTrue(most.first?.hasPrefix("empty: at most ") == true, "\(most)")
        XCTAssertTrue(
            text.contains("waits for empty") || text.contains(">empty</text>"), "the producer's waits are unnamed")
    }

    /// The pool figure states that the killed worker's task failed and that the pool went on; a figure
    /// that says otherwise is caught and repaired.
    func testAFigureDenyingTheReplacementIsCaught() throws {
        try assertCaughtAndRepaired(
            "chapter8/worker-killed", compare: "lanes,pool",
            truth: "PoolWorker-1: replaced by a worker started after it", mutated: "PoolWorker-1: not replaced")
    }

    func testUpdateDrawsOnceThenLeavesTheFigureAlone() throws {
        XCTAssertFalse(figureFailures().isEmpty, "a missing figure must fail the check")
        XCTAssertEqual(figureFailures(update: true), [])
        let first = try Data(contentsOf: URL(fileURLWithPath: figurePath))
        XCTAssertEqual(figureFailures(update: true), [])
        XCTAssertEqual(
            try Data(contentsOf: URL(fileURLWithPath: figurePath)), first, "update rewrote a figure that matched")
        XCTAssertEqual(figureFailures(), [])
    }

    func testAMutatedFigureIsCaught() throws {
        try FileManager.default.copyItem(atPath: root + "/book/figures/chapter4-clean.svg", toPath: figurePath)
        XCTAssertEqual(figureFailures(), [])
        let original = try String(contentsOfFile: figurePath, encoding: .utf8)

        // A lane dropped.
        let lane = "second: exited(0)\n"
        XCTAssertTrue(original.contains(lane))
        try original.replacingOccurrences(of: lane, with: "").write(
            toFile: figurePath, atomically: true, encoding: .utf8)
        let dropped = figureFailures()
        XCTAssertEqual(dropped.count, 1, "\(dropped)")
        XCTAssertTrue(dropped.first?.contains("+second: exited(0)") == true, "\(dropped)")

        // Two ordered events swapped.
        let events = "first: acquire Lock A, set Event A, release Lock A"
        XCTAssertTrue(original.contains(events))
        let swapped = original.replacingOccurrences(
            of: events, with: "first: set Event A, acquire Lock A, release Lock A")
        try swapped.write(toFile: figurePath, atomically: true, encoding: .utf8)
        XCTAssertEqual(figureFailures().count, 1)

        // Drawn by an older renderer.
        let version = "[drawing]\nversion "
        XCTAssertTrue(original.contains(version))
        try original.replacingOccurrences(of: version, with: version + "0").write(
            toFile: figurePath, atomically: true, encoding: .utf8)
        XCTAssertEqual(figureFailures().count, 1)

        // Update repairs it.
        XCTAssertEqual(figureFailures(update: true), [])
        XCTAssertEqual(figureFailures(), [])
    }

    func testEveryFigureIsAWellFormedSelfContainedSVG() throws {
        let directory = root + "/book/figures"
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".svg") }
        XCTAssertGreaterThanOrEqual(names.count, 8)
        for name in names {
            let data = try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(name)"))
            let parser = XMLParser(data: data)
            let elements = ElementCollector()
            parser.delegate = elements
            XCTAssertTrue(parser.parse(), "\(name): \(String(describing: parser.parserError))")
            XCTAssertEqual(elements.names.first, "svg", name)
            for needed in ["title", "desc", "metadata", "rect"] {
                XCTAssertTrue(elements.names.contains(needed), "\(name) has no <\(needed)>")
            }
            XCTAssertFalse(elements.names.contains("script"), name)
            XCTAssertFalse(elements.names.contains("image"), name)
            let text = String(decoding: data, as: UTF8.self)
            XCTAssertTrue(text.contains("role=\"img\""), name)
            XCTAssertTrue(text.contains("aria-labelledby=\"figure-title figure-desc\""), name)
            XCTAssertFalse(
                text.contains("@import") || text.contains("@font-face") || text.contains("href=\"http"), name)
            XCTAssertNotNil(figureDescription(ofSVG: text)?["lanes"], name)
        }
    }
}

private final class ElementCollector: NSObject, XMLParserDelegate {
    var names: [String] = []
    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        names.append(elementName)
    }
}
