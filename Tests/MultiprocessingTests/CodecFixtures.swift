import Foundation
import XCTest

@testable import Multiprocessing
@testable import MultiprocessingCodec

// The Codable types the codec tests encode and decode: every standard Codable shape.

struct Point: Codable, Equatable, Hashable {
    var x: Double
    var y: Double
}

enum Color: String, Codable, Equatable {
    case red, green, blue
}

enum Level: Int, Codable, Equatable {
    case low = 1
    case high = 10
}

enum Direction: Codable, Equatable {
    case north, south
}

enum Shape: Codable, Equatable {
    case circle(radius: Double)
    case rectangle(width: Double, height: Double)
    case polygon([Point])
    case labelled(String, Int)
    case empty
}

indirect enum Tree: Codable, Equatable {
    case leaf(Int)
    case node(Tree, Tree)
}

struct Everything: Codable, Equatable {
    var int = -42
    var int8: Int8 = .min
    var int16: Int16 = .max
    var int32: Int32 = -123_456
    var int64: Int64 = .min
    var int128: Int128 = Int128(Int64.min) * 3
    var uint: UInt = .max
    var uint8: UInt8 = 200
    var uint16: UInt16 = 65_000
    var uint32: UInt32 = .max
    var uint64: UInt64 = .max - 1
    var uint128: UInt128 = UInt128(UInt64.max) * 5
    var float: Float = 3.25
    var double = -0.0
    var yes = true
    var no = false
    var text = "héllo, wörld 👋🏽"
    var empty = ""
    var bytes: [UInt8] = [0, 1, 2, 255]
    var data = Data([9, 8, 7])
    var maybe: Int? = nil
    var surely: String? = "here"
    var nested: Int?? = .some(nil)
    var numbers = [1, 2, 3]
    var doubles: [Double] = [1.5, -2.5]
    var words = ["a", "", "ccc"]
    var optionals: [Int?] = [1, nil, 3]
    var grid = [[1, 2], [], [3]]
    var points = [Point(x: 1, y: 2), Point(x: -3, y: 4)]
    var byName = ["one": 1, "two": 2]
    var byNumber = [1: "one", 2: "two"]
    var byPoint = [Point(x: 0, y: 0): "origin"]
    var byColor: [Color: Int] = [.red: 1]
    var set: Set<Int> = [5, 6, 7]
    var range = 1..<10
    var closed = 1...3
    var duration = Duration.milliseconds(1500)
    var color = Color.green
    var level = Level.high
    var direction = Direction.south
    var shapes: [Shape] = [
        .circle(radius: 1), .rectangle(width: 2, height: 3),
        .polygon([Point(x: 0, y: 0)]), .labelled("x", 7), .empty,
    ]
    var tree = Tree.node(.leaf(1), .node(.leaf(2), .leaf(3)))
}

/// A class with synthesized Codable.
final class Account: Codable, Equatable {
    var owner: String
    var balance: Int
    init(owner: String, balance: Int) {
        self.owner = owner
        self.balance = balance
    }
    static func == (a: Account, b: Account) -> Bool { a.owner == b.owner && a.balance == b.balance }
}

/// A class hierarchy: the subclass encodes its superclass through `superEncoder()`.
class Animal: Codable {
    var name: String
    init(name: String) { self.name = name }
}

final class Dog: Animal {
    var tricks: [String]
    init(name: String, tricks: [String]) {
        self.tricks = tricks
        super.init(name: name)
    }
    private enum CodingKeys: String, CodingKey { case tricks }
    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        tricks = try container.decode([String].self, forKey: .tricks)
        try super.init(from: container.superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tricks, forKey: .tricks)
        try super.encode(to: container.superEncoder())
    }
}

/// The other common class pattern: subclass and superclass share one encoder.
final class Cat: Animal {
    var lives: Int
    init(name: String, lives: Int) {
        self.lives = lives
        super.init(name: name)
    }
    private enum CodingKeys: String, CodingKey { case lives }
    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        lives = try container.decode(Int.self, forKey: .lives)
        try super.init(from: decoder)
    }
    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(lives, forKey: .lives)
        try super.encode(to: encoder)
    }
}

struct Empty: Codable, Equatable {}

/// Writes its fields in one order and reads them in another.
struct Shuffled: Codable, Equatable {
    var a: Int
    var b: String
    var c: [Int]
    private enum CodingKeys: String, CodingKey { case a, b, c }
    init(a: Int, b: String, c: [Int]) {
        self.a = a
        self.b = b
        self.c = c
    }
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        c = try container.decode([Int].self, forKey: .c)
        a = try container.decode(Int.self, forKey: .a)
        b = try container.decode(String.self, forKey: .b)
    }
}

struct Version1: Codable {
    var id: Int
    var name: String
    var legacy: Bool
}
struct Version2: Codable, Equatable {
    var id: Int
    var name: String
    var note: String?
}

struct Item: Codable, Equatable {
    var id: Int
    var name: String
    var score: Double
}

struct OtherItem: Codable, Equatable {
    var id: String
    var name: String
    var score: Double
}

struct Node: Codable {
    var child: [Node]
}

func deepNode(_ depth: Int) -> Node {
    var node = Node(child: [])
    for _ in 0..<depth { node = Node(child: [node]) }
    return node
}
