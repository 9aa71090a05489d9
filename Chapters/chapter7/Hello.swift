import Multiprocessing
import Notebook

/// What a sensor reports: any Codable type can be a message.
struct Reading: Codable {
    var sensor: String
    var celsius: Double
    var tags: [String]
}

/// `swift run chapter7 hello`
let helloCell = Cell("hello", "Hello World through a pipe", hello)

nonisolated func hello() throws {
    // cell: hello
    let (parentEnd, childEnd) = try Connection<String>.makePipe()
    let greeter = ChildProcess(name: "greeter") {
        try childEnd.send("Hello World")
    }
    try greeter.start()
    print("main received: \(try parentEnd.receive())")
    try greeter.join()

    let (readings, sensorEnd) = try Connection<Reading>.makePipe()
    let sensor = ChildProcess(name: "sensor") {
        try sensorEnd.send(Reading(sensor: "kitchen", celsius: 21.5, tags: ["morning", "window open"]))
    }
    try sensor.start()
    let reading = try readings.receive()
    print("main received: \(reading.sensor) at \(reading.celsius) °C, tags \(reading.tags)")
    try sensor.join()
    // end cell
}
