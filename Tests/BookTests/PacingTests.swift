import BookKit
import Foundation
import XCTest

/// A chapter refuses a pacing value it cannot use (`MP_TIME_SCALE`), with a message and exit status 2,
/// instead of ignoring it silently; a usable one is accepted.
final class PacingTests: XCTestCase {
    private func runChapter1(timeScale: String) throws -> (status: Int32, stderr: String) {
        let binDir = try XCTUnwrap(BookPaths.executableDirectory(), "cannot locate the build directory")
        let chapter = Foundation.Process()
        chapter.executableURL = URL(fileURLWithPath: "\(binDir)/chapter1")
        chapter.arguments = ["--list"]
        chapter.environment = ["MP_TIME_SCALE": timeScale, "MP_FORK_WARNING": "0"]
        let errors = Foundation.Pipe()
        chapter.standardError = errors
        chapter.standardOutput = FileHandle.nullDevice
        try chapter.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        chapter.waitUntilExit()
        return (chapter.terminationStatus, text)
    }

    func testAnUnusableTimeScaleStopsTheChapterWithAMessage() throws {
        for value in ["abc", "-1", "0", "inf", ""] {
            let (status, stderr) = try runChapter1(timeScale: value)
            XCTAssertEqual(status, 2, "MP_TIME_SCALE=\(value)")
            XCTAssertTrue(
                stderr.contains("chapter1: MP_TIME_SCALE must be a positive number") && stderr.contains("\"\(value)\""),
                stderr)
        }
    }

    func testAUsableTimeScaleIsAccepted() throws {
        let (status, stderr) = try runChapter1(timeScale: "0.25")
        XCTAssertEqual(status, 0, stderr)
        XCTAssertEqual(stderr, "")
    }
}
