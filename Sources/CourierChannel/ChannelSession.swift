/// Everything the hub keeps per client ID: the sequence counter, the recent messages held for
/// recovery (bounded by age, count and bytes), the current connection, and presence.
///
/// A class, used only under the hub's lock: a topic keeps its subscribers' sessions in an
/// array, so a publish reaches each one without a dictionary lookup by client ID. A publish
/// touches every subscriber's session, so what it touches is kept small and together: the
/// fields it uses come first, and a held message is one reference to its shared payload (the
/// sequence number follows from the position, the time is the payload's).
package final class ChannelSession {
    /// Dropped messages' slots (before `heldStart`) are nil at once, so their memory goes when
    /// they are dropped rather than when the array is next compacted.
    private var held: [ChannelPayload?] = []
    private var heldStart = 0
    /// The sequence number of `held[heldStart]`, or of the next message when none is held.
    private var firstHeldSeq: UInt64 = 1
    private(set) var heldBytes = 0
    package var pumpScheduled = false
    package var present = false
    package var connection: (any ChannelConnection)?
    /// The highest sequence number ever handed to a connection; a fresh connection starts here.
    package var deliveredThrough: UInt64 = 0
    package var tokenExpiry: Double = .infinity
    package var absentSince: Double?
    /// When `sendMessage` last held a message here (publishes not counted): the session is
    /// kept for the recovery window after it, so the message is delivered if the client comes.
    var lastSentDirectly: Double = 0
    package let sessionID: String
    var replacedConnectionIDs: [String] = []
    /// When the client last did something: made, attached, took messages, or went away. The
    /// sessions longest inactive are the first to drop what they hold when the engine's total
    /// reaches its bound.
    package var lastActivity: Double
    /// The engine's account of what all its sessions hold together, if it keeps one.
    private let heldMemory: HeldMemory?

    package init(sessionID: String, now: Double, heldMemory: HeldMemory? = nil) {
        self.sessionID = sessionID
        absentSince = now
        lastActivity = now
        self.heldMemory = heldMemory
    }

    /// A session whose first message will be `firstSeq`: an engine that numbers messages
    /// elsewhere (Redis) holds, per connected client, the messages from where it joined.
    package init(sessionID: String, now: Double, firstSeq: UInt64) {
        self.sessionID = sessionID
        absentSince = now
        lastActivity = now
        heldMemory = nil
        firstHeldSeq = max(1, firstSeq)
        deliveredThrough = firstHeldSeq - 1
    }

    package var heldCount: Int { held.count - heldStart }
    package var nextSeq: UInt64 { firstHeldSeq + UInt64(heldCount) }
    /// The last sequence number the bounds have dropped (0 if none).
    package var lastDroppedSeq: UInt64 { firstHeldSeq - 1 }

    /// Whether some message after `seq` was dropped by the bounds: a reader at `seq` can no
    /// longer get everything, in order.
    package func hasLost(after seq: UInt64) -> Bool { seq < lastDroppedSeq }

    @discardableResult
    package func append(_ payload: ChannelPayload, limits: ChannelSettings) -> UInt64 {
        let seq = nextSeq
        held.append(payload)
        heldBytes += payload.byteCount
        heldMemory?.hold(payload)
        trim(now: payload.time, limits: limits)
        return seq
    }

    /// Drops what is older than the window, beyond the count, or beyond the byte budget.
    package func trim(now: Double, limits: ChannelSettings) {
        while heldStart < held.count, let oldest = held[heldStart] {
            guard held.count - heldStart > limits.maxHeldMessages || heldBytes > limits.maxHeldBytes
                || oldest.time < now - limits.recoveryWindowSeconds else { break }
            drop(at: heldStart)
            heldStart += 1
            firstHeldSeq += 1
        }
        if heldStart > 64 && heldStart * 2 > held.count {
            held.removeFirst(heldStart)
            heldStart = 0
        }
    }

    /// Drops every held message, as the bounds drop the oldest: a reader that still needed one
    /// gets 410 (`hasLost`), a reader that had them all goes on, and new messages are numbered
    /// after them. Returns how many there were.
    @discardableResult
    package func dropAllHeld() -> Int {
        let count = heldCount
        for index in heldStart..<held.count { drop(at: index) }
        firstHeldSeq += UInt64(count)
        held = []
        heldStart = 0
        return count
    }

    private func drop(at index: Int) {
        guard let payload = held[index] else { return }
        heldBytes -= payload.byteCount
        heldMemory?.release(payload)
        held[index] = nil
    }

    /// The held messages after `seq`, as many as fit in `maxBytes` of text but at least one
    /// (sequence numbers are consecutive, so the first one wanted is found by arithmetic).
    package func messages(after seq: UInt64, maxBytes: Int = .max) -> [HeldMessage] {
        // `seq` may have come from a client: checked before `seq + 1`, which traps at the top.
        guard seq < nextSeq - 1 else { return [] }
        let first = max(seq + 1, firstHeldSeq)
        guard first < nextSeq else { return [] }
        let start = heldStart + Int(first - firstHeldSeq)
        var messages: [HeldMessage] = []
        messages.reserveCapacity(maxBytes == .max ? held.count - start : 16)
        var bytes = 0
        for (offset, slot) in held[start...].enumerated() {
            // Every slot from `heldStart` on holds a message.
            guard let payload = slot else { break }
            bytes += payload.byteCount
            if bytes > maxBytes && !messages.isEmpty { break }
            messages.append(HeldMessage(seq: first + UInt64(offset), payload: payload))
        }
        return messages
    }

    func noteReplaced(_ connectionID: String) {
        replacedConnectionIDs.append(connectionID)
        if replacedConnectionIDs.count > 8 { replacedConnectionIDs.removeFirst() }
    }
}

/// The memory the messages held by all the sessions of one engine take together, against
/// `ChannelSettings.maxTotalHeldBytes`: each distinct message once (a topic's subscribers share
/// one copy), plus a reference for each session holding it. Used only under its engine's lock.
package final class HeldMemory {
    /// What one session's reference to a held message costs: its slot in the session's array.
    static let bytesPerHold = 8
    package private(set) var bytes = 0
    /// The distinct messages held (a published one once, whatever its subscribers).
    package private(set) var messages = 0

    package init() {}

    func hold(_ payload: ChannelPayload) {
        if payload.holders == 0 {
            bytes += payload.footprintBytes
            messages += 1
        }
        payload.holders += 1
        bytes += Self.bytesPerHold
    }

    func release(_ payload: ChannelPayload) {
        payload.holders -= 1
        bytes -= Self.bytesPerHold
        if payload.holders == 0 {
            bytes -= payload.footprintBytes
            messages -= 1
        }
    }
}
