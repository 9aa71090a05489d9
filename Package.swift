// swift-tools-version:6.2
import PackageDescription

/// The chapters of the book, each an executable target under Chapters/.
let chapters = [1, 2, 3, 4, 5, 6, 7, 8, 9].map { "chapter\($0)" }

let package = Package(
    name: "MultiprocessingBook",
    // Only the runtime is for other packages. The chapters, `book` and `bench` are executable targets
    // of this package, which SwiftPM gives implicit products here (`swift run chapter3`, `swift run
    // book check`, `swift build --product bench`) and never exports to a package that depends on it.
    // ExerciseKit is a product for the exercises' scratch package (.build/exercises/), which depends
    // on this package by path so that an exercise that does not compile never breaks this build.
    products: [
        .library(name: "Multiprocessing", targets: ["Multiprocessing"]),
        .library(name: "ExerciseKit", targets: ["ExerciseKit"]),
    ],
    targets: [
        // The few Linux calls and macros that Glibc does not import.
        .target(name: "CMultiprocessingShims"),
        // The binary codec (BinaryEncoder, BinaryDecoder) and the framing it shares with the runtime:
        // no dependency on the runtime, so `make fuzz` compiles it alone. Multiprocessing re-exports it.
        .target(name: "MultiprocessingCodec"),
        // The runtime: Python's multiprocessing re-created for Swift on Linux.
        .target(name: "Multiprocessing", dependencies: ["CMultiprocessingShims", "MultiprocessingCodec"]),
        // What the book's checker and the chapter runner agree on: environment names, the pid log.
        .target(name: "BookProtocol"),
        // The chapter runner: cells, headers, one cell or all, time scale.
        .target(name: "Notebook", dependencies: ["Multiprocessing", "BookProtocol"]),
        // Book parsing, code-region sync, output normalization, check and bless.
        .target(name: "BookKit", dependencies: ["CMultiprocessingShims", "BookProtocol"]),
        .executableTarget(name: "book", dependencies: ["BookKit"]),
        // The exercises (Exercises/): what their programs import, the catalog and checks, the CLI.
        .target(name: "ExerciseKit", dependencies: ["Multiprocessing"]),
        .target(name: "ExerciseHarness", dependencies: ["BookKit", "ExerciseKit"]),
        .executableTarget(name: "exercises", dependencies: ["ExerciseHarness"]),
        // `make bench`: the runtime's figures beside the machine's limit (limit.c, a C twin the bench
        // compiles) and Python's multiprocessing (twin.py).
        .executableTarget(name: "bench", dependencies: ["Multiprocessing"], exclude: ["twin.py", "limit.c"]),
        // The README's complete program, byte for byte (FoundationInteropTests compares and runs it).
        .executableTarget(name: "readme-example", dependencies: ["Multiprocessing"]),
        // What the runtime's tests share (process state, pipes, waiting), without XCTest.
        .target(
            name: "MultiprocessingTestSupport", dependencies: ["Multiprocessing"],
            path: "Tests/MultiprocessingTestSupport"),
        .testTarget(
            name: "MultiprocessingTests",
            dependencies: ["Multiprocessing", "MultiprocessingTestSupport", "CMultiprocessingShims"]),
        // A smoke run of every benchmark at tiny sizes (each checks its own result).
        .testTarget(name: "BenchTests", dependencies: ["bench"]),
        // Foundation and the runtime imported together: every runtime name must stay unambiguous.
        .testTarget(name: "FoundationInteropTests", dependencies: ["Multiprocessing", "readme-example"]),
        // Builds every exercise file in one scratch package and proves each check fails and passes.
        .testTarget(name: "ExerciseTests", dependencies: ["ExerciseHarness", "BookKit", "exercises"]),
        // Depends on the chapters so that `swift test` builds their binaries before checking the book.
        .testTarget(name: "BookTests", dependencies: ["BookKit"] + chapters.map { .target(name: $0) }),
    ]
        + chapters.map {
            .executableTarget(name: $0, dependencies: ["Multiprocessing", "Notebook"], path: "Chapters/\($0)")
        },
    swiftLanguageModes: [.v6]
)
