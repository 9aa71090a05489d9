// Knobs of a pool that tests turn (passed in, never global): how long the zygote may stay silent,
// and a hook that stands for a worker stuck at start-up.

/// How a pool waits for its zygote and its new workers. `Pool`'s public initializers use `standard`;
/// tests pass their own to the package-level initializer.
package struct PoolTuning: Sendable {
    /// How long the zygote may take to answer a spawn request or report a worker's death, and a new
    /// worker to start, before they are presumed stuck (a fork takes well under a millisecond).
    /// Two workers in a row stuck at start-up get their zygote replaced.
    package var answerTimeout: Duration
    /// Run by each new worker before it reports that it started; `zygoteNumber` is 1 for the pool's
    /// first zygote, 2 for its first replacement, and so on (tests make it hang, to stand for a worker
    /// stuck at start-up). Runs in the worker: plain code only.
    package var workerStartup: (@Sendable (_ zygoteNumber: Int) -> Void)?

    package init(answerTimeout: Duration = .seconds(10), workerStartup: (@Sendable (Int) -> Void)? = nil) {
        self.answerTimeout = answerTimeout
        self.workerStartup = workerStartup
    }

    /// What every pool uses: 10 s, no hook.
    package static let standard = PoolTuning()
}
