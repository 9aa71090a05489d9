/// The "## Exercises" section of chapter `chapter`'s page, ending with a blank line: one item per
/// exercise (id, title, one line, the command). The book's pages carry it word for word (tested).
public func exercisesSection(chapter: Int) -> String {
    var text = "## Exercises\n\n"
    text += "Practise this chapter with `swift run exercises` ([how the track works](../Exercises/README.md)):\n\n"
    for e in catalog where e.chapter == chapter {
        let bug = "find the bug: "
        let (kind, line) =
            e.summary.hasPrefix(bug) ? (" (find the bug)", String(e.summary.dropFirst(bug.count))) : ("", e.summary)
        text += "- **\(e.id) \(e.title)**\(kind): \(line). `swift run exercises check \(e.id)`\n"
    }
    return text + "\n"
}

/// What is wrong with the "## Exercises" section of chapter `chapter`'s page `text`, or nil: the page
/// must carry `exercisesSection(chapter:)` word for word, after its "## Recap" section and right
/// before the final `---` line.
public func exercisesSectionProblem(page text: String, chapter: Int) -> String? {
    let expected = exercisesSection(chapter: chapter)
    guard let start = text.firstRange(of: "\n## Exercises\n") else {
        return "it has no \"## Exercises\" section (`swift run exercises catalog --markdown \(chapter)` prints it)"
    }
    guard let recap = text.firstRange(of: "\n## Recap\n"), recap.upperBound <= start.lowerBound else {
        return "its \"## Exercises\" section must come after \"## Recap\""
    }
    let rest = text[text.index(after: start.lowerBound)...]
    guard let end = rest.ranges(of: "\n---\n").last else {
        return "no `---` line after its \"## Exercises\" section"
    }
    if rest[end.upperBound...].contains("\n## ") {
        return "its \"## Exercises\" section must be the last before the final `---` line"
    }
    let actual = String(rest[..<end.lowerBound]) + "\n"
    guard actual != expected else { return nil }
    let a = actual.split(separator: "\n", omittingEmptySubsequences: false)
    let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let line = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    let shown = line < a.count ? "\"\(a[line])\"" : "(nothing)"
    let wanted = line < b.count ? "\"\(b[line])\"" : "(nothing)"
    return "its \"## Exercises\" section differs from `swift run exercises catalog --markdown \(chapter)` at its "
        + "line \(line + 1): the page has \(shown), the catalog \(wanted)"
}
