import Notebook

runChapter(
    Chapter(
        "chapter2", "Process: a function in a child process",
        cells: [sleeperCell, subclassCell, activeChildrenDemoCell, exitCodesCell, namesCell, misuseCell, closeDemoCell])
)
