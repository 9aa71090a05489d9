// Demo pacing: real pauses for a reader, short ones for the tests.

import BookProtocol
import Multiprocessing

/// The time scale for demo pauses, from the environment (`MP_TIME_SCALE`, default 1).
/// The book's checker runs chapters at 0.05; outputs never depend on it.
public enum TimeScale {
    public static let variable = BookEnvironment.timeScale

    /// The factor applied to every `demoSleep`: a positive number, 1 when unset or invalid.
    public static let factor: Double = {
        guard let text = ProcessIO.environment(variable), let value = Double(text), value > 0, value.isFinite else {
            return 1
        }
        return value
    }()
}

/// Pauses the calling thread to pace a demo, scaled by `TimeScale.factor`.
/// Never used to order output: the chapters order output with synchronization.
public func demoSleep(_ duration: Duration) {
    ProcessIO.sleep(for: duration * TimeScale.factor)
}
