// C stdio and the environment: how standard output is buffered, a fresh stdout after a redirect,
// flushing before a fork (so that no buffered text is copied into a child), environment variables.

import CMultiprocessingShims
import Glibc

extension Sys {
    /// How C stdio buffers standard output.
    package enum Buffering {
        /// Written out when the buffer (4 KiB) fills: the default into a pipe or a file.
        case full
        /// Written out at each newline: the default on a terminal.
        case line
    }

    /// Only before anything is written to standard output (C's rule).
    package static func setStandardOutputBuffering(_ buffering: Buffering) {
        _ = mp_set_stdout_buffering(buffering == .full ? _IOFBF : _IOLBF)
    }

    /// A fresh C stdout stream on descriptor 1, buffered as C chooses for what fd 1 now is.
    package static func reopenStandardOutput() {
        _ = mp_reopen_stdout()
    }

    /// Flushes every C stdio stream, so that no buffered text is copied into a child.
    package static func flushStdio() {
        fflush(nil)
    }

    package static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
