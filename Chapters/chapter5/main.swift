import Notebook

runChapter(
    Chapter(
        "chapter5", "Semaphores, events, conditions and barriers",
        cells: [
            Cell("limit", "A semaphore lets a few in at a time", limit),
            Cell("bounded-buffer", "Producer and consumer: a bounded buffer", boundedBuffer),
            Cell("bounded-semaphore", "BoundedSemaphore catches one release too many", boundedSemaphore),
            Cell("event", "Event: wait until another process says go", eventDemo),
            Cell("condition", "Condition: wait until the state you need", conditionDemo),
            Cell("barrier", "Barrier: everyone waits for everyone", barrierDemo),
        ]))
