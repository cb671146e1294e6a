/// How long to wait before the next connect attempt after `failures` attempts in a row failed:
/// `initial`, doubling per failure up to `maximum`, each delay shortened by a random share of up
/// to `jitter`. The jitter matters when Redis restarts: every Courier process lost its
/// connections at the same instant, and without it they would all knock again in lockstep.
public struct RedisBackoff: Sendable, Hashable {
    /// The delay after the first failure (at least 1 ms).
    public var initial: Duration
    /// The cap the doubling stops at (never below `initial`).
    public var maximum: Duration
    /// The largest share of a delay taken off at random, in 0...1.
    public var jitter: Double

    /// Defaults: 100 ms doubling to 5 s, each delay cut by up to half at random. `jitter` is clamped to 0...1 when used.
    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5), jitter: Double = 0.5) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    /// The delay before jitter: `initial` × 2^(failures − 1), capped at `maximum`.
    public func nominalDelay(afterFailures failures: Int) -> Duration {
        .milliseconds(nominalMilliseconds(afterFailures: failures))
    }

    /// `random` is a draw from 0..<1 (the caller's generator, so tests can fix it).
    public func delay(afterFailures failures: Int, random: Double) -> Duration {
        .milliseconds(milliseconds(afterFailures: failures, random: random))
    }

    func milliseconds(afterFailures failures: Int, random: Double) -> UInt64 {
        let nominal = nominalMilliseconds(afterFailures: failures)
        let share = min(max(jitter, 0), 1) * min(max(random, 0), 1)
        return nominal - UInt64((Double(nominal) * share).rounded(.down))
    }

    func nominalMilliseconds(afterFailures failures: Int) -> UInt64 {
        let first = max(1, initial.wholeMilliseconds)
        let cap = max(first, maximum.wholeMilliseconds)
        var delay = first
        var doublings = max(0, failures - 1)
        // Doubling stops at the cap, so no failure count, however large, can overflow.
        while doublings > 0 && delay < cap {
            delay *= 2
            doublings -= 1
        }
        return min(delay, cap)
    }
}

extension Duration {
    /// Whole milliseconds, 0 for negative durations and saturating for huge ones, as libuv's
    /// timers take them.
    var wholeMilliseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        guard seconds < Int64(UInt64.max / 2_000) else { return UInt64.max / 2 }
        return UInt64(seconds) * 1_000 + UInt64(max(0, attoseconds) / 1_000_000_000_000_000)
    }
}
