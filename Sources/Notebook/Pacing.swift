// Demo pacing: real pauses for a reader, short ones for the tests.

import BookProtocol
import Multiprocessing

/// The time scale for demo pauses, from the environment (`MP_TIME_SCALE`, default 1).
/// The book's checker runs chapters at 0.05; outputs never depend on it.
public enum TimeScale {
    public static let variable = BookEnvironment.timeScale

    /// The factor applied to every `demoSleep`: a positive number, 1 when unset (a chapter refuses
    /// to start with an invalid one: see `problem`).
    public static let factor: Double = parsed ?? 1

    /// What is wrong with the variable's value, or nil when it is unset or a usable factor.
    public static let problem: String? = {
        guard let text = ProcessIO.environment(variable), parsed == nil else { return nil }
        return "\(variable) must be a positive number, such as 0.1 for pauses ten times shorter, not \"\(text)\""
    }()

    private static let parsed: Double? = {
        guard let text = ProcessIO.environment(variable), let value = Double(text), value > 0, value.isFinite else {
            return nil
        }
        return value
    }()
}

/// Pauses the calling thread to pace a demo, scaled by `TimeScale.factor`.
/// Never used to order output: the chapters order output with synchronization.
public func demoSleep(_ duration: Duration) {
    ProcessIO.sleep(for: duration * TimeScale.factor)
}
