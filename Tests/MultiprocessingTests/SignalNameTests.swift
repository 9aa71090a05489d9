import Glibc
import XCTest

@testable import Multiprocessing

/// One table names signals for the runtime and the book checker (the C shim's `mp_signal_name`).
final class SignalNameTests: XCTestCase {
    func testSignalNamesComeFromTheOneTable() {
        XCTAssertEqual(signalName(SIGKILL), "SIGKILL")
        XCTAssertEqual(signalName(SIGTERM), "SIGTERM")
        XCTAssertEqual(signalName(SIGTRAP), "SIGTRAP")
        XCTAssertEqual(signalName(SIGQUIT), "SIGQUIT")
        XCTAssertEqual(signalName(SIGSEGV), "SIGSEGV")
        XCTAssertEqual(signalName(0), "signal 0")
        XCTAssertEqual(signalName(99), "signal 99")
    }
}
