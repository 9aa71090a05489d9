import Notebook

runChapter(
    Chapter(
        "chapter4", "Lock: one process at a time",
        cells: [
            garbledCell, cleanCell, manyWritersCell, lostUpdateCell, lockedCounterCell, withLockDemoCell,
            timeoutDemoCell, ownerDemoCell, rlockDemoCell, misuseCell, killedHolderCell, exitedHolderCell,
        ]))
