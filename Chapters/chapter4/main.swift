import Notebook

runChapter(
    Chapter(
        "chapter4", "Lock: one process at a time",
        cells: [
            Cell("garbled", "Without a lock, output can mix", garbled),
            Cell("clean", "With a lock, every line stays whole", clean),
            Cell("many-writers", "Many writers, one lock", manyWriters),
            Cell("lost-update", "Without a lock, an update can be lost", lostUpdate),
            Cell("counter", "With a lock, the total is exact", lockedCounter),
            Cell("with-lock", "withLock: acquire and release in one", withLockDemo),
            Cell("timeout", "Giving up: tryAcquire and acquire(timeout:)", timeoutDemo),
            Cell("owner", "A Lock has no owner; an RLock has one", ownerDemo),
            Cell("rlock", "RLock: the owner may acquire again", rlockDemo),
            Cell("misuse", "Mistakes are errors", misuse),
            Cell("killed-holder", "A holder killed while holding the lock", killedHolder),
        ]))
