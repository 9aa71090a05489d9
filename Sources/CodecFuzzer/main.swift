// A libFuzzer target for the codec decoder and the frame reader. Not a SwiftPM target: `make fuzz`
// compiles it with the codec target's sources (MultiprocessingCodec, which has no dependency on the
// runtime) and `-sanitize=fuzzer,address` (libFuzzer brings `main`), so the normal build and test
// never see it. Inputs are tried two ways:
//   1. decoded as several Codable types (every outcome must be a value or a CodecError);
//   2. cut into frames by the FrameBuffer a Connection reads with, each frame decoded, until the
//      input ends or a frame is oversized, never a hang.
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

/// Cuts the bytes into frames through the FrameBuffer every Connection reads with, fed in reads of
/// varying size as a socket would deliver them, and decodes each frame, until the input ends or a
/// frame is too large. (FuzzTests keeps the same input going through a real socket and Connection.)
func readFrames(_ bytes: UnsafeRawBufferPointer) {
    let frames = FrameBuffer(chunk: 1 << 10, initialCapacity: 16)
    var offset = 0
    var step = 1
    while true {
        switch frames.next(maxLength: 1 << 16) {
        case .frame(let frame):
            tryDecode(Record.self, frame)
            frames.releaseGrowth()
        case .tooLarge:
            return
        case .needs(let needed):
            guard offset < bytes.count else { return }  // end of input: end of file, or a truncated frame
            let space = frames.space(forFrameOf: needed)
            let count = min(space.count, bytes.count - offset, step)
            space.baseAddress!.copyMemory(from: bytes.baseAddress! + offset, byteCount: count)
            frames.didRead(count)
            offset += count
            step = step % 4096 * 3 + 1  // 1, 4, 13, 40, …: reads that split headers and bodies
        }
    }
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
