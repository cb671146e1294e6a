import CourierLoop

/// Which channels a subscriber wants, which Redis has confirmed, and whose confirmations are
/// still due, with no I/O. The wanted set survives disconnections (it is what a reconnect
/// subscribes again); confirmation state does not.
///
/// Redis confirms each channel of a `SUBSCRIBE` with its own push, in order. A channel dropped
/// and wanted again before its first confirmation came back gets the old confirmation first;
/// those are counted as stale so they never confirm the newer subscription early.
struct SubscriptionTable<Handler, Confirmation> {
    private struct Entry {
        var handler: Handler
        var active = false
        var subscribesInFlight = 0
        var confirmations: [Confirmation] = []
    }

    private var entries: [[UInt8]: Entry] = [:]
    private var stale: [[UInt8]: Int] = [:]

    var channels: [[UInt8]] { Array(entries.keys) }
    var isEmpty: Bool { entries.isEmpty }

    func handler(for channel: [UInt8]) -> Handler? { entries[channel]?.handler }

    func isActive(_ channel: [UInt8]) -> Bool { entries[channel]?.active ?? false }

    /// Records the wish. `sendNow`: a `SUBSCRIBE` may go out now (connected); otherwise the next
    /// connection subscribes it. Returns whether to send one, and a confirmation due at once
    /// (the channel was already confirmed: only the handler changed).
    mutating func subscribe(_ channel: [UInt8], handler: Handler, confirmation: Confirmation?,
                            sendNow: Bool) -> (send: Bool, confirmedNow: Confirmation?) {
        if var entry = entries[channel] {
            entry.handler = handler
            if entry.active {
                entries[channel] = entry
                return (false, confirmation)
            }
            if let confirmation { entry.confirmations.append(confirmation) }
            let send = sendNow && entry.subscribesInFlight == 0
            if send { entry.subscribesInFlight += 1 }
            entries[channel] = entry
            return (send, nil)
        }
        var entry = Entry(handler: handler)
        if let confirmation { entry.confirmations.append(confirmation) }
        if sendNow { entry.subscribesInFlight = 1 }
        entries[channel] = entry
        return (sendNow, nil)
    }

    /// Forgets the channel. Returns whether an `UNSUBSCRIBE` must go out (connected, and Redis
    /// has or will have it) and the confirmations that will now never come.
    mutating func unsubscribe(_ channel: [UInt8], connected: Bool) -> (send: Bool, orphaned: [Confirmation]) {
        guard let entry = entries.removeValue(forKey: channel) else { return (false, []) }
        entries.shrinkIfSparse()
        if entry.subscribesInFlight > 0 { stale[channel, default: 0] += entry.subscribesInFlight }
        return (connected && (entry.active || entry.subscribesInFlight > 0), entry.confirmations)
    }

    /// Redis confirmed a `SUBSCRIBE` for `channel`; returns the confirmations it settles.
    mutating func confirmed(_ channel: [UInt8]) -> [Confirmation] {
        if let count = stale[channel] {
            stale[channel] = count > 1 ? count - 1 : nil
            return []
        }
        guard var entry = entries[channel], entry.subscribesInFlight > 0 else { return [] }
        entry.subscribesInFlight -= 1
        var settled: [Confirmation] = []
        if entry.subscribesInFlight == 0 {
            entry.active = true
            settled = entry.confirmations
            entry.confirmations = []
        }
        entries[channel] = entry
        return settled
    }

    /// The connection went: nothing is confirmed any more. Returns the confirmations still
    /// waiting, which the caller fails; the channels stay wanted.
    mutating func disconnected() -> [Confirmation] {
        stale = [:]
        var orphaned: [Confirmation] = []
        for channel in entries.keys {
            orphaned += entries[channel]!.confirmations
            entries[channel]!.confirmations = []
            entries[channel]!.active = false
            entries[channel]!.subscribesInFlight = 0
        }
        return orphaned
    }

    /// A new connection is ready: every wanted channel is to be subscribed. Confirmations added
    /// while connecting stay and are settled by these subscriptions.
    mutating func resubscribeAll() -> [[UInt8]] {
        for channel in entries.keys {
            entries[channel]!.active = false
            entries[channel]!.subscribesInFlight = 1
        }
        return channels
    }
}
