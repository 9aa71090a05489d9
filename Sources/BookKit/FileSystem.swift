import CMultiprocessingShims
import Glibc

/// An error from BookKit: a message meant for a person reading the checker's report.
public struct BookError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in one or more lines.
    public let message: String

    /// Creates an error with the given message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }

    /// An error for a failed system call, with `strerror` of the current errno appended.
    static func system(_ what: String) -> BookError {
        BookError("\(what): \(String(cString: strerror(mp_errno())))")
    }
}

/// The few file-system operations the checker needs (no Foundation): whole-file reads and
/// atomic writes, directory listings, temporary files.
public enum FileSystem {
    /// The bytes of the file at `path`.
    static func readBytes(_ path: String) throws(BookError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .system("cannot open \(path)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if mp_errno() == EINTR { continue }
                throw .system("cannot read \(path)")
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        return bytes
    }

    /// The text of the file at `path`, decoded as UTF-8 (invalid bytes become U+FFFD).
    public static func readText(_ path: String) throws(BookError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// Replaces the file at `path` with `text`: written to a temporary file beside it and
    /// renamed over it, so a reader never sees half a page. Keeps the file's permission bits.
    public static func writeTextAtomically(_ path: String, _ text: String) throws(BookError) {
        var mode: mode_t = 0o644
        var info = stat()
        if stat(path, &info) == 0 { mode = info.st_mode & 0o7777 }
        let temporary = "\(path).book-update-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        if fd < 0 { throw .system("cannot create \(temporary)") }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if mp_errno() == EINTR { continue }
                let error = BookError.system("cannot write \(temporary)")
                close(fd)
                unlink(temporary)
                throw error
            }
            offset += n
        }
        _ = fchmod(fd, mode)
        close(fd)
        if rename(temporary, path) != 0 {
            let error = BookError.system("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// The names in directory `path` (without "." and ".."), sorted by byte order.
    public static func list(_ path: String) throws(BookError) -> [String] {
        guard let dir = opendir(path) else { throw .system("cannot list \(path)") }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The paths of all files under `directory` whose name ends with `suffix`, recursively,
    /// sorted. Empty when the directory does not exist.
    public static func files(under directory: String, suffix: String) -> [String] {
        guard isDirectory(directory), let names = try? list(directory) else { return [] }
        var result: [String] = []
        for name in names where !name.hasPrefix(".") {
            let path = "\(directory)/\(name)"
            if isDirectory(path) {
                result += files(under: path, suffix: suffix)
            } else if name.hasSuffix(suffix) {
                result.append(path)
            }
        }
        return result
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether `path` is a regular file this process may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
    }

    /// Creates an empty file with a unique name in $TMPDIR (or /tmp) and returns its path.
    public static func makeTemporaryFile(prefix: String) throws(BookError) -> String {
        var directory = "/tmp"
        if let tmp = getenv("TMPDIR"), tmp.pointee != 0 { directory = String(cString: tmp) }
        var template = Array("\(directory)/\(prefix)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw .system("cannot create a temporary file in \(directory)") }
        close(fd)
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    public static func remove(_ path: String) { _ = unlink(path) }

    /// Makes directory `path` if it does not exist (its parent must).
    static func makeDirectory(_ path: String) { _ = mkdir(path, 0o755) }

    /// Creates an empty directory with a unique name in $TMPDIR (or /tmp) and returns its path.
    public static func makeTemporaryDirectory(prefix: String) throws(BookError) -> String {
        var directory = "/tmp"
        if let tmp = getenv("TMPDIR"), tmp.pointee != 0 { directory = String(cString: tmp) }
        var template = Array("\(directory)/\(prefix)-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        if made == nil { throw .system("cannot create a temporary directory in \(directory)") }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// Creates `path` and any missing parent directories.
    public static func makeDirectories(_ path: String) throws(BookError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && mp_errno() != EEXIST { throw .system("cannot create \(prefix)") }
        }
        if !isDirectory(path) { throw BookError("\(path) exists and is not a directory") }
    }

    /// Removes `path` and, for a directory, everything under it (symbolic links are removed, not
    /// followed). Best effort: what cannot be removed stays.
    public static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in (try? list(path)) ?? [] { removeTree("\(path)/\(name)") }
            _ = rmdir(path)
        } else {
            _ = unlink(path)
        }
    }

    /// `path` with every symbolic link resolved; nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

/// Where things are: the package root and the directory of the running executable. For the
/// CLI's defaults and for tests that check the book (`BookChecker(root:binDir:)`).
public enum BookPaths {
    /// The directory of the running executable, from /proc/self/exe. For `book` and for the
    /// test bundle alike this is the SwiftPM bin dir (e.g. `.build/debug`), where the chapter
    /// binaries are. Nil if /proc is not mounted.
    public static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// The nearest directory holding Package.swift, from `start` (a directory or a file path,
    /// e.g. `#filePath`; default: the current directory) upwards; nil if there is none.
    public static func packageRoot(from start: String? = nil) -> String? {
        guard var directory = start.map(absolute) ?? currentDirectory() else { return nil }
        while true {
            if access(directory + "/Package.swift", F_OK) == 0 && FileSystem.isDirectory(directory) { return directory }
            if directory == "/" || directory.isEmpty { return nil }
            let parent = directory.split(separator: "/", omittingEmptySubsequences: true).dropLast()
            directory = "/" + parent.joined(separator: "/")
        }
    }

    /// `path` made absolute against the current directory.
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return (currentDirectory() ?? ".") + "/" + path
    }

    static func currentDirectory() -> String? {
        guard let pointer = getcwd(nil, 0) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
