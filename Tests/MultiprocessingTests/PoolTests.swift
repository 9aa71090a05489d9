import Glibc
import XCTest
@testable import Multiprocessing

final class PoolTests: XCTestCase {
    func testSmoke() throws {
        let pool = try Pool(processes: 3) { (x: Int) -> Int in x * x }
        XCTAssertEqual(try pool.apply(4), 16)
        let r = try pool.applyAsync(5)
        XCTAssertEqual(try r.get(timeout: .seconds(5)), 25)
        XCTAssertEqual(try pool.map(0..<100), (0..<100).map { $0 * $0 })
        pool.close()
        try pool.join()
    }
}
