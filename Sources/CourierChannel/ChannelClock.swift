#if canImport(Glibc)
import Glibc
import CourierLoop
#endif
import Synchronization

/// Wall-clock seconds, injectable so token expiry and recovery windows are tested without sleeping.
public protocol ChannelClock: Sendable {
    /// Seconds since the Unix epoch. Must be callable from any thread and should not go backwards.
    func now() -> Double
}

/// The wall clock, for production (tests pass a clock they move by hand).
public struct SystemClock: ChannelClock {
    /// The system's real-time clock.
    public init() {}
    /// `CLOCK_REALTIME` in seconds, to the nanosecond; it jumps if the system time is set.
    public func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// A clock that moves only when told to (tests).
public final class ManualClock: ChannelClock {
    private let seconds: Locked<Double>
    /// A clock standing at `start` seconds until advanced.
    public init(_ start: Double = 1_000_000) { seconds = Locked(start) }
    /// The time set so far; safe from any thread.
    public func now() -> Double { seconds.withLock { $0 } }
    /// Moves the clock by `delta` seconds (negative moves it back); safe from any thread. Nothing is woken: expiry is seen at the next check.
    public func advance(by delta: Double) { seconds.withLock { $0 += delta } }
}
