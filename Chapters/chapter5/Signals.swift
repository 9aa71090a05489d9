import Multiprocessing
import Notebook

/// `swift run chapter5 event`
let eventDemoCell = Cell("event", "Event: wait until another process says go", eventDemo)

nonisolated func eventDemo() throws {
    // cell: event
    let go = try Event()
    let waiters = (1...2).map { number in
        ChildProcess(name: "waiter \(number)") {
            print("waiter \(number): waiting for go")
            let started = go.wait(timeout: .seconds(30))
            print("waiter \(number): go? \(started)")
        }
    }
    for waiter in waiters { try waiter.start() }
    demoSleep(.milliseconds(500))  // pacing only: the waiters wait, whenever they got there
    print("main: go!")
    go.set()
    for waiter in waiters { try waiter.join() }
    go.clear()
    print("main: after clear, wait(timeout: 0.1 s) -> \(go.wait(timeout: .milliseconds(100)))")
    // end cell
}

/// `swift run chapter5 condition`
let conditionDemoCell = Cell("condition", "Condition: wait until the state you need", conditionDemo)

nonisolated func conditionDemo() throws {
    // cell: condition
    let condition = try Condition(lock: Lock())
    let orders = try RawSharedValue(0)  // guarded by the condition's lock
    let kitchen = ChildProcess(name: "kitchen") {
        try condition.withLock { () throws(SyncError) in
            let ready = try condition.wait(for: { orders.value >= 3 }, timeout: .seconds(30))
            print("kitchen: \(orders.value) orders waiting, start cooking? \(ready)")
        }
    }
    try kitchen.start()
    for order in 1...3 {
        demoSleep(.milliseconds(200))
        try condition.withLock { () throws(SyncError) in
            orders.value += 1
            print("front desk: order \(order) placed")
            try condition.notify()  // the kitchen looks again; it goes on waiting until 3
        }
    }
    try kitchen.join()
    // end cell
}

/// `swift run chapter5 barrier`
let barrierDemoCell = Cell("barrier", "Barrier: everyone waits for everyone", barrierDemo)

nonisolated func barrierDemo() throws {
    // cell: barrier
    let barrier = try Barrier(parties: 3, action: { print("barrier: all 3 are here") })
    let finished = try SharedArray<Int>(count: 2)  // runners that finished lap 1, lap 2
    let leftEarly = try SharedValue(false)
    let firstPlaces = try SharedValue(0)
    let runners = (1...3).map { number in
        ChildProcess(name: "runner \(number)") {
            for lap in 1...2 {
                demoSleep(.milliseconds(100 * number))  // each runner has its own speed
                print("runner \(number): lap \(lap) done")
                finished.withLock { $0[lap - 1] += 1 }
                let index = try barrier.wait()  // nobody starts the next lap before all are here
                if finished[lap - 1] != 3 { leftEarly.value = true }
                if index == 0 { firstPlaces.withLock { $0 += 1 } }
            }
        }
    }
    for runner in runners { try runner.start() }
    for runner in runners { try runner.join() }
    print("anyone left the barrier before all 3 arrived? \(leftEarly.value)")
    print("waiters that got index 0: \(firstPlaces.value), one per round")
    // end cell
}
