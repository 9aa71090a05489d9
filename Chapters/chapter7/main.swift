import Notebook

runChapter(
    Chapter(
        "chapter7", "Pipe: messages between two processes",
        cells: [
            helloCell, conversationCell, oneWayCell, endOfFileCell, forgotToCloseCell, pollDemoCell, pingPongCell,
            roundTripCell, buffersCell, errorsCell,
        ]))
