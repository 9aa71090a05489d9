import Glibc
import Multiprocessing

nonisolated func names() throws {
    // cell: names
    print("main: I am \(Process.current.name)")
    let parent = Process {
        let me = Process.current
        print("child: I am \(me.name), pid is mine? \(me.pid == getpid())")
        let grandchild = Process { print("grandchild: I am \(Process.current.name)") }
        try grandchild.start()
        try grandchild.join()
    }
    let named = Process(name: "reporter") { print("named: I am \(Process.current.name)") }
    try parent.start()
    try parent.join()
    try named.start()
    try named.join()
    // end cell
}
