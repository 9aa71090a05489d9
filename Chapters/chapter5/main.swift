import Notebook

runChapter(
    Chapter(
        "chapter5", "Semaphores, events, conditions and barriers",
        cells: [limitCell, boundedBufferCell, boundedSemaphoreCell, eventDemoCell, conditionDemoCell, barrierDemoCell]))
