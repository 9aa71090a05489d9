import Notebook

runChapter(
    Chapter(
        "chapter1", "fork: one process becomes two",
        cells: [forkReturnsTwiceCell, exitStatusCell, printedTwiceCell, zombieCell, orphanCell]))
