import BookKit
import Foundation
import XCTest

/// Debugger transcripts on the book's pages (troubleshooting's `gdb … bt`) quote source locations:
/// `in Lock.acquire() (…) at Sources/Multiprocessing/Sync/Lock.swift:42`. Those blocks cannot be
/// re-run by the checker, so this test keeps them honest another way: each quoted line must still
/// lie inside the function the frame names (the nearest `func` above it has that name).
final class SourceLocationTests: XCTestCase {
    /// A frame: an optional `closure #N in `, an optional `Type.`, the function's name, its
    /// arguments, and `at path:line` under Sources/ or Chapters/.
    private let frame = try! NSRegularExpression(
        pattern: #"in (?:closure #\d+ in )?(?:[A-Za-z_][A-Za-z0-9_]*\.)*([A-Za-z_][A-Za-z0-9_]*)(?:<[^>]*>)?\("#
            + #"[^)]*\).* at ((?:Sources|Chapters)/[^\s:]+\.swift):(\d+)"#)

    /// The problems of every quoted location in `text`; `root` is the package's folder.
    private func problems(in text: String, root: String) -> [String] {
        var found: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            let range = NSRange(line.startIndex..., in: line)
            guard let match = frame.firstMatch(in: line, range: range),
                let nameRange = Range(match.range(at: 1), in: line),
                let pathRange = Range(match.range(at: 2), in: line),
                let numberRange = Range(match.range(at: 3), in: line),
                let number = Int(line[numberRange])
            else { continue }
            let name = String(line[nameRange])
            let path = String(line[pathRange])
            guard let source = try? String(contentsOfFile: root + "/" + path, encoding: .utf8) else {
                found.append("\(path): no such file")
                continue
            }
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
            guard number >= 1, number <= lines.count else {
                found.append("\(path):\(number): the file has \(lines.count) lines")
                continue
            }
            let enclosing = lines[..<number].last { $0.contains("func ") }.map(String.init) ?? "(none)"
            if !enclosing.contains("func \(name)(") && !enclosing.contains("func \(name)<") {
                found.append(
                    "\(path):\(number) is quoted as inside \(name)(), but the nearest func above it is: "
                        + enclosing.trimmingCharacters(in: .whitespaces))
            }
        }
        return found
    }

    private func root() throws -> String {
        try XCTUnwrap(BookPaths.packageRoot(from: #filePath))
    }

    func testEveryQuotedSourceLocationIsInsideItsFunction() throws {
        let root = try root()
        let pages = try FileManager.default.contentsOfDirectory(atPath: root + "/book").filter { $0.hasSuffix(".md") }
        var quoted = 0
        for page in pages.sorted() {
            let text = try String(contentsOfFile: root + "/book/" + page, encoding: .utf8)
            quoted +=
                text.split(separator: "\n").filter { line in
                    frame.firstMatch(in: String(line), range: NSRange(line.startIndex..., in: line)) != nil
                }.count
            let found = problems(in: text, root: root)
            XCTAssertEqual(found, [], "book/\(page):\n" + found.joined(separator: "\n"))
        }
        XCTAssertGreaterThan(quoted, 0, "no page quotes a source location: is the pattern still right?")
    }

    func testAMovedLineIsCaught() throws {
        let root = try root()
        let good = "#6  0x1 in Lock.acquire() (self=...) at Sources/Multiprocessing/Sync/Lock.swift:42"
        let lockSource = try String(contentsOfFile: root + "/Sources/Multiprocessing/Sync/Lock.swift", encoding: .utf8)
        let acquireLine = lockSource.split(separator: "\n", omittingEmptySubsequences: false)
            .firstIndex { $0.contains("public func acquire()") }
        let line = try XCTUnwrap(acquireLine) + 2  // the line after the declaration, inside the body
        let inside = good.replacingOccurrences(of: ":42", with: ":\(line)")
        XCTAssertEqual(problems(in: inside, root: root), [])
        let elsewhere = good.replacingOccurrences(of: ":42", with: ":3")
        XCTAssertEqual(problems(in: elsewhere, root: root).count, 1)
        let renamed = inside.replacingOccurrences(of: "Lock.acquire()", with: "Lock.release()")
        XCTAssertEqual(problems(in: renamed, root: root).count, 1)
        let missing = inside.replacingOccurrences(of: "Sync/Lock.swift", with: "Sync/Padlock.swift")
        XCTAssertEqual(problems(in: missing, root: root), ["Sources/Multiprocessing/Sync/Padlock.swift: no such file"])
    }
}
