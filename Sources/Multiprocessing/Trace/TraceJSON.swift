// The Trace Event Format file (the JSON that Perfetto's UI and chrome://tracing open):
// {"traceEvents": [...]}, one "M" process_name per process, "X" spans (a process's life, waits,
// holds, pool tasks), "i" moments; times in microseconds from the trace's start.

import CMultiprocessingShims
import Glibc

extension TraceTimeline {
    /// Writes the timeline to `path` (created or replaced).
    /// - Throws: `SystemError` from open or write.
    func write(to path: String) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", errno: mp_errno()) }
        defer { Sys.close(fd) }
        var out = JSONOutput(fd: fd)
        out.append("{\"traceEvents\":[\n")
        var first = true
        func event(_ text: String) {
            out.append(first ? text : ",\n" + text)
            first = false
        }
        for lane in lanes {
            event(
                "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":\(lane.pid),\"tid\":\(lane.pid),"
                    + "\"args\":{\"name\":\(Self.quoted(lane.name))}}")
            let ending = lane.ending.map { ",\"args\":{\"end\":\(Self.quoted($0))}" } ?? ""
            event(
                "{\"ph\":\"X\",\"cat\":\"process\",\"name\":\(Self.quoted(lane.name)),\"pid\":\(lane.pid),"
                    + "\"tid\":\(lane.pid),\"ts\":\(Self.micro(lane.start)),\"dur\":\(Self.micro(lane.end - lane.start))"
                    + ending + "}")
        }
        for span in spans {
            let failed = span.failed ? ",\"args\":{\"failed\":true}" : ""
            event(
                "{\"ph\":\"X\",\"cat\":\"\(span.kind.rawValue)\",\"name\":\(Self.quoted(span.kind.rawValue + " " + span.label)),"
                    + "\"pid\":\(span.pid),\"tid\":\(span.tid),\"ts\":\(Self.micro(span.start)),"
                    + "\"dur\":\(Self.micro(span.end - span.start))\(failed)}")
            try out.flushIfFull()
        }
        for moment in moments {
            event(
                "{\"ph\":\"i\",\"s\":\"t\",\"name\":\(Self.quoted(moment.label)),\"pid\":\(moment.pid),"
                    + "\"tid\":\(moment.tid),\"ts\":\(Self.micro(moment.time))}")
            try out.flushIfFull()
        }
        out.append(
            "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"recorded\":\"\(recorded)\",\"dropped\":\"\(dropped)\"}}\n")
        try out.flush()
    }

    /// Nanoseconds as microseconds with three decimals, without floating point.
    static func micro(_ nanoseconds: Int64) -> String {
        let value = max(0, nanoseconds)
        let fraction = String(value % 1000)
        return "\(value / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// A JSON string literal.
    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

/// Text bound for a file, written in large pieces.
private struct JSONOutput {
    let fd: Int32
    var pending: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        pending.reserveCapacity(1 << 16)
    }

    mutating func append(_ text: String) {
        pending.append(contentsOf: text.utf8)
    }

    mutating func flushIfFull() throws(SystemError) {
        if pending.count >= 1 << 16 { try flush() }
    }

    mutating func flush() throws(SystemError) {
        var offset = 0
        while offset < pending.count {
            let written = pending.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if mp_errno() == EINTR { continue }
                throw SystemError("write", errno: mp_errno())
            }
            offset += written
        }
        pending.removeAll(keepingCapacity: true)
    }
}
