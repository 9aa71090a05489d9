// `swift run -c release bench`: the runtime's figures beside Python's multiprocessing.
runBenchmarks(arguments: Array(CommandLine.arguments.dropFirst()))
