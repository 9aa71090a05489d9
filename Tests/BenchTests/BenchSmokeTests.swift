import Glibc
import XCTest

/// Runs every benchmark once at tiny sizes (Swift side only): each verifies its own result
/// (exact counts, order), so a broken workload fails here rather than in `make bench`.
final class BenchSmokeTests: XCTestCase {
    func testEveryWorkloadRunsAndVerifiesItsResult() throws {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        XCTAssertGreaterThan(length, 0)
        let executable = String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let binDir = String(executable[..<executable.lastIndex(of: "/")!])
        // The test bundle sits beside the executables it depends on.
        let directory = binDir.hasSuffix(".xctest") ? String(binDir[..<binDir.lastIndex(of: "/")!]) : binDir
        let bench = directory + "/bench"
        XCTAssertEqual(access(bench, X_OK), 0, "no bench executable at \(bench)")

        guard let pipe = popen("'\(bench)' --quick --no-python 2>&1", "r") else {
            return XCTFail("cannot run \(bench)")
        }
        var output = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            output += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let status = pclose(pipe)
        XCTAssertEqual(status, 0, output)
        XCTAssertFalse(output.contains("FAILED"), output)
        XCTAssertTrue(output.contains("Process start+join"), output)
    }
}
