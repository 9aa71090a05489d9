import BookKit
import Glibc
import XCTest

/// The project's Swift files follow its `.swift-format` configuration: the toolchain's
/// `swift-format lint --strict` reports nothing. `make format` applies it.
final class FormatTests: XCTestCase {
    /// The package's root: three levels above this file (Tests/BookTests/FormatTests.swift).
    private let root = String(
        #filePath.split(separator: "/", omittingEmptySubsequences: false).dropLast(3)
            .joined(separator: "/"))

    /// `swift-format` of the toolchain whose `swift` comes first in PATH, or else the first in PATH.
    private func swiftFormat() throws -> String {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        let entries = path.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        var directories: [String] = []
        for entry in entries {
            guard let resolved = realpath(entry + "/swift", nil) else { continue }
            defer { free(resolved) }
            let swift = String(cString: resolved)
            if let slash = swift.lastIndex(of: "/") { directories.append(String(swift[..<slash])) }
        }
        for directory in directories + entries where access(directory + "/swift-format", X_OK) == 0 {
            return directory + "/swift-format"
        }
        throw XCTSkip(
            "swift-format is not beside swift in PATH (it ships with the toolchain): formatting is not checked")
    }

    func testTheSwiftSourcesFollowTheFormatConfiguration() throws {
        let tool = try swiftFormat()
        // The exercises' shipped files too, but not Exercises/Workspace/: the learner's half-done copies.
        let exercises = (1...20).map { "Exercises/chapter\($0)" }
        let folders = (["Package.swift", "Sources", "Chapters", "Tests"] + exercises).filter {
            access("\(root)/\($0)", F_OK) == 0
        }
        let result = try Runner().run(
            tool,
            [
                "lint", "--strict", "--recursive", "--parallel",
                "--configuration", "\(root)/.swift-format",
            ] + folders.map { "\(root)/\($0)" },
            timeout: 300)
        let findings = (result.stdout + result.stderr).split(separator: "\n").filter { !$0.isEmpty }
        XCTAssertTrue(
            result.succeeded && findings.isEmpty,
            """
            swift-format lint --strict: \(findings.count) finding(s); run `make format` (first ones below)
            \(findings.prefix(20).joined(separator: "\n"))
            """)
    }

    /// The check above can fail: a file that breaks the configuration is reported.
    func testAMisformattedFileIsReported() throws {
        let tool = try swiftFormat()
        var template = Array("/tmp/format-test-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let directory = try XCTUnwrap(made.map { String(cString: $0) })
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        try "let a = 1; let b = 2\nfunc  f( ) { }\n".write(
            toFile: "\(directory)/Bad.swift", atomically: true, encoding: .utf8)
        let result = try Runner().run(
            tool,
            [
                "lint", "--strict", "--configuration", "\(root)/.swift-format",
                "\(directory)/Bad.swift",
            ], timeout: 60)
        XCTAssertFalse(result.succeeded)
        XCTAssertTrue((result.stdout + result.stderr).contains("DoNotUseSemicolons"), result.stderr)
    }
}
