// Memory: anonymous MAP_SHARED mappings that forked children inherit.
// They have no name (nothing in /dev/shm, nothing to leak) and vanish with the last process mapping them.

import CMultiprocessingShims
import Glibc

extension Sys {
    /// The size of a memory page (4 KiB here); mappings are whole pages.
    package static let pageSize: Int = max(4096, sysconf(Int32(_SC_PAGESIZE)))

    /// A fresh anonymous shared mapping of at least `byteCount` bytes (whole pages), zero-filled.
    /// Every child forked afterwards shares the same memory: what one process writes, all see.
    package static func mapShared(byteCount: Int) throws(SystemError) -> UnsafeMutableRawPointer {
        let length = roundedToPages(byteCount)
        let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
        guard let address, address != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw SystemError("mmap", errno: mp_errno())
        }
        return address
    }

    /// Unmaps a mapping made by `mapShared` in this process only; other processes keep theirs.
    package static func unmap(_ address: UnsafeMutableRawPointer, byteCount: Int) {
        _ = munmap(address, roundedToPages(byteCount))
    }

    private static func roundedToPages(_ byteCount: Int) -> Int {
        let pages = (max(byteCount, 1) + pageSize - 1) / pageSize
        return pages * pageSize
    }
}
