// A libFuzzer target for the codec decoder and the frame reader. Not a SwiftPM target: `make fuzz`
// compiles it with the runtime's sources and `-sanitize=fuzzer,address` (libFuzzer brings `main`),
// so the normal build and test never see it. Inputs are tried two ways:
//   1. decoded as several Codable types (every outcome must be a value or a CodecError);
//   2. written raw into a socket and read back through a Connection's frame reader until it fails
//      (end of file, a truncated or oversized frame, an undecodable message), never a hang.
// libFuzzer's -malloc_limit_mb (set by `make fuzz`) turns any allocation beyond the bound into a crash.

import Glibc

struct Record: Codable {
    var id: Int
    var name: String
    var scores: [Double]
    var tags: [String: Int]
    var parent: Int?
    var flag: Bool
}

indirect enum Shape: Codable {
    case circle(radius: Double)
    case polygon([Int8])
    case named(String, Shape?)
    case group([Shape])
}

@inline(never)
func tryDecode<T: Decodable>(_ type: T.Type, _ bytes: UnsafeRawBufferPointer) {
    _ = try? BinaryDecoder().decode(T.self, from: bytes)
}

/// Reads frames from the bytes through a real Connection (over a socket pair) until it throws.
func readFrames(_ bytes: UnsafeRawBufferPointer) {
    guard let (reader, writer) = try? Connection<Record>.makePipe(duplex: true, maxMessageSize: 1 << 16) else { return }
    var offset = 0
    while offset < bytes.count {
        let written = Glibc.write(writer.fd, bytes.baseAddress! + offset, bytes.count - offset)
        if written <= 0 { break }
        offset += written
    }
    writer.close()
    for _ in 0..<10_000 {
        do throws(ConnectionError) {
            _ = try reader.receive()
        } catch {
            guard case .undecodable = error else { break }  // the next frame can still be read
        }
    }
    reader.close()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    tryDecode(Record.self, bytes)
    tryDecode(Shape.self, bytes)
    tryDecode([String: [Int]].self, bytes)
    tryDecode([Record?].self, bytes)
    if size <= 1 << 16 { readFrames(bytes) }
    return 0
}
