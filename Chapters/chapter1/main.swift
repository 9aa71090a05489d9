import Notebook

runChapter(
    Chapter(
        "chapter1", "fork: one process becomes two",
        cells: [
            Cell("fork-returns-twice", "fork returns twice", forkReturnsTwice),
            Cell("exit-status", "The parent waits and reads how the child ended", exitStatus),
            Cell("printed-twice", "Buffered output is copied by fork", printedTwice),
            Cell("zombie", "A child nobody waits for is a zombie", zombie),
            Cell("orphan", "A child whose parent dies is adopted", orphan),
        ]))
