/// Everything the hub keeps per client ID: the sequence counter, the recent messages held for
/// recovery (bounded by age, count and bytes), the current connection, and presence.
/// A class, used only under the hub's lock: a topic keeps its subscribers' sessions in an
/// array, so a publish reaches each one without a dictionary lookup by client ID.
final class ChannelSession {
    let sessionID: String
    var nextSeq: UInt64 = 1
    private(set) var held: [HeldMessage] = []
    private var heldStart = 0
    private(set) var heldBytes = 0
    /// The highest sequence number ever handed to a connection; a fresh connection starts here.
    var deliveredThrough: UInt64 = 0
    var connection: (any ChannelConnection)?
    var tokenExpiry: Double = .infinity
    var pumpScheduled = false
    var present = false
    var absentSince: Double?
    var replacedConnectionIDs: [String] = []
    var topics: Set<String> = []

    init(sessionID: String, now: Double) {
        self.sessionID = sessionID
        absentSince = now
    }

    var heldMessages: ArraySlice<HeldMessage> { held[heldStart...] }
    var oldestHeldSeq: UInt64? { heldStart < held.count ? held[heldStart].seq : nil }

    func append(_ payload: ChannelPayload, now: Double, limits: ChannelSettings) -> UInt64 {
        let seq = nextSeq
        nextSeq += 1
        held.append(HeldMessage(seq: seq, time: now, payload: payload))
        heldBytes += payload.byteCount
        trim(now: now, limits: limits)
        return seq
    }

    /// Drops what is older than the window, beyond the count, or beyond the byte budget.
    func trim(now: Double, limits: ChannelSettings) {
        while heldStart < held.count {
            let oldest = held[heldStart]
            let count = held.count - heldStart
            guard count > limits.maxHeldMessages || heldBytes > limits.maxHeldBytes
                || oldest.time < now - limits.recoveryWindowSeconds else { break }
            heldBytes -= oldest.payload.byteCount
            heldStart += 1
        }
        if heldStart > 64 && heldStart * 2 > held.count {
            held.removeFirst(heldStart)
            heldStart = 0
        }
    }

    /// The held messages after `seq`. Held sequence numbers are consecutive (appended one by
    /// one, dropped from the front), so the first one wanted is found by arithmetic, not by
    /// scanning every held message on each delivery.
    func messages(after seq: UInt64) -> [HeldMessage] {
        guard let oldest = oldestHeldSeq else { return [] }
        let skip = seq < oldest ? 0 : Int(min(seq - oldest + 1, UInt64(held.count - heldStart)))
        let first = heldStart + skip
        guard first == held.count || held[first].seq == max(seq + 1, oldest) else {
            return heldMessages.filter { $0.seq > seq }
        }
        return Array(held[first...])
    }

    func noteReplaced(_ connectionID: String) {
        replacedConnectionIDs.append(connectionID)
        if replacedConnectionIDs.count > 8 { replacedConnectionIDs.removeFirst() }
    }
}
