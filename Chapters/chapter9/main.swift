import Notebook

runChapter(
    Chapter(
        "chapter9", "Threads or processes?",
        cells: [
            threeWaysCell, crashCell, memoryCell, timeoutCell, limitsCell, startCostCell, copyingCell,
            forkWithThreadsCell,
        ]))
