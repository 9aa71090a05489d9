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
    private func figureFailures(update: Bool = false) -> [String] {
        let checker = BookChecker(root: root, binDir: binDir, bookDir: book)
        let report = update ? checker.update(chapters: ["chapter4"]) : checker.check(chapters: ["chapter4"])
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
