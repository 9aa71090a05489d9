import Multiprocessing

/// What a sensor reports: any Codable type can be a message.
struct Reading: Codable {
    var sensor: String
    var celsius: Double
    var tags: [String]
}

nonisolated func hello() throws {
    // cell: hello
    let (parentEnd, childEnd) = try Pipe<String>.make()
    let greeter = Process(name: "greeter") {
        try childEnd.send("Hello World")
    }
    try greeter.start()
    print("main received: \(try parentEnd.recv())")
    try greeter.join()

    let (readings, sensorEnd) = try Pipe<Reading>.make()
    let sensor = Process(name: "sensor") {
        try sensorEnd.send(Reading(sensor: "kitchen", celsius: 21.5, tags: ["morning", "window open"]))
    }
    try sensor.start()
    let reading = try readings.recv()
    print("main received: \(reading.sensor) at \(reading.celsius) °C, tags \(reading.tags)")
    try sensor.join()
    // end cell
}
