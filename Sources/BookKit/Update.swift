/// A replacement of lines `start..<end` of a page (an insertion when the range is empty).
struct PageEdit {
    let start: Int
    let end: Int
    let lines: [String]
}

extension Page {
    /// The page text with `edits` applied by their recorded line positions; lines outside
    /// the edits, and the final newline, are kept byte for byte.
    /// - Throws: `BookError` if two edits overlap (a bug, never a silent merge).
    func applying(_ edits: [PageEdit]) throws(BookError) -> String {
        // Bottom-up, so earlier positions stay valid; at one position a replacement goes
        // before an insertion.
        let ordered = edits.sorted { ($0.start, $0.end) > ($1.start, $1.end) }
        var lines = self.lines
        var floor = Int.max
        for edit in ordered {
            guard edit.end <= floor || edit.start == edit.end && edit.start == floor else {
                throw BookError("overlapping edits in \(path) at line \(edit.start + 1)")
            }
            lines.replaceSubrange(edit.start..<edit.end, with: edit.lines)
            floor = edit.start
        }
        return lines.joined(separator: "\n") + (endsWithNewline ? "\n" : "")
    }
}

/// Replaces a code block's content with its region (or inserts a block after the marker).
func codeEdit(_ marker: Marker, _ region: Region) -> PageEdit {
    if let block = marker.block {
        return PageEdit(
            start: block.openLine, end: block.closeLine + 1,
            lines: renderFence(
                content: region.lines, info: block.info, indent: block.indent,
                character: block.fenceCharacter, preferredLength: block.fenceLength))
    }
    return PageEdit(
        start: marker.line + 1, end: marker.line + 1,
        lines: renderFence(content: region.lines, info: "swift", indent: marker.indent))
}

/// Replaces an output block's content with `lines` and its marker's `pids=` with `pids`
/// (the marker line is left alone when its pids are already those); inserts a block when the
/// marker has none.
func outputEdit(_ marker: Marker, _ lines: [String], pids: [Int32]) -> PageEdit {
    let markerChanges = marker.output?.pids != pids
    let fence: [String]
    let end: Int
    if let block = marker.block {
        fence = renderFence(
            content: lines, info: block.info, indent: block.indent,
            character: block.fenceCharacter, preferredLength: block.fenceLength)
        end = block.closeLine + 1
    } else {
        fence = renderFence(content: lines, info: "text", indent: marker.indent)
        end = marker.line + 1
    }
    if markerChanges {
        return PageEdit(start: marker.line, end: end, lines: [marker.rendered(withPids: pids)] + fence)
    }
    return PageEdit(start: marker.line + 1, end: end, lines: fence)
}
