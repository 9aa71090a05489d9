// The test target's own support. What does not need XCTest or the runtime's internals lives in
// the MultiprocessingTestSupport target, re-exported here so that every test file sees it.
@_exported import MultiprocessingTestSupport

struct TestFailure: Error {}
