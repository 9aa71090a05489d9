import XCTest

@testable import Multiprocessing

/// The README's "runtime in one screen" snippet, run for real, so the README cannot drift.
final class ReadmeTests: XCTestCase {
    func testTheReadmeSnippetRuns() throws {
        let worker = ChildProcess(name: "worker") { print("hello from \(currentProcess().name)") }
        try worker.start()
        try worker.join()  // worker.exitCode == 0
        XCTAssertEqual(worker.exitCode, 0)

        let lock = try Lock()
        lock.withLock { print("one process at a time") }
        let counter = try SharedValue(0)  // plain data in shared memory
        let queue = try Queue<String>(maxSize: 10)  // any Codable item
        let (a, b) = try Connection<String>.makePipe(duplex: true)  // two connected ends
        let pool = try Pool(processes: 3) { (x: Int) in x * x }
        let squares = try pool.map(Array(1...10))

        XCTAssertEqual(squares, (1...10).map { $0 * $0 })
        XCTAssertEqual(counter.value, 0)
        try queue.put("item")
        XCTAssertEqual(try queue.get(), "item")
        try a.send("ping")
        XCTAssertEqual(try b.receive(), "ping")
        pool.close()
        try pool.join()
    }

    /// Every line of the README's "runtime in one screen" block appears, in order, in the test above.
    func testTheReadmeSnippetIsTheOneRunHere() throws {
        let here = URL(fileURLWithPath: #filePath)
        let root = here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let test = try String(contentsOf: here, encoding: .utf8)
        let heading = try XCTUnwrap(readme.range(of: "## The runtime in one screen\n"))
        let open = try XCTUnwrap(readme.range(of: "```swift\n", range: heading.upperBound..<readme.endIndex))
        let close = try XCTUnwrap(readme.range(of: "\n```\n", range: open.upperBound..<readme.endIndex))
        var searchFrom = test.startIndex
        for line in readme[open.upperBound..<close.lowerBound].split(separator: "\n") {
            let code = line.trimmingCharacters(in: .whitespaces)
            guard let found = test.range(of: code, range: searchFrom..<test.endIndex) else {
                return XCTFail("README line not run (in this order) by testTheReadmeSnippetRuns: \(code)")
            }
            searchFrom = found.upperBound
        }
        // The reference docs' landing page shows the same block.
        let landing = try String(
            contentsOf: root.appendingPathComponent("Sources/Multiprocessing/Multiprocessing.docc/Multiprocessing.md"),
            encoding: .utf8)
        let landingOpen = try XCTUnwrap(landing.range(of: "```swift\n"))
        let landingClose = try XCTUnwrap(landing.range(of: "\n```\n", range: landingOpen.upperBound..<landing.endIndex))
        XCTAssertEqual(
            landing[landingOpen.upperBound..<landingClose.lowerBound], readme[open.upperBound..<close.lowerBound],
            "the DocC landing page's example differs from the README's")
    }
}
