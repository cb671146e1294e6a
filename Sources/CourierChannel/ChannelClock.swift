#if canImport(Glibc)
import Glibc
import CourierLoop
#endif
import Synchronization

/// Wall-clock seconds, injectable so token expiry and recovery windows are tested without sleeping.
public protocol ChannelClock: Sendable {
    func now() -> Double
}

public struct SystemClock: ChannelClock {
    public init() {}
    public func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// A clock that moves only when told to (tests).
public final class ManualClock: ChannelClock {
    private let seconds: Locked<Double>
    public init(_ start: Double = 1_000_000) { seconds = Locked(start) }
    public func now() -> Double { seconds.withLock { $0 } }
    public func advance(by delta: Double) { seconds.withLock { $0 += delta } }
}
