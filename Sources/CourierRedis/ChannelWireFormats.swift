import CourierChannel

/// A message as the send script publishes it: `<epoch>:<seq>:<time>:<text>`.
struct PublishedMessage {
    let epoch: String
    let seq: UInt64
    let time: Double
    let text: String

    init?(_ payload: [UInt8]) {
        let parts = payload.split(separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, let seq = UInt64(String(decoding: parts[1], as: UTF8.self)),
              let time = Double(String(decoding: parts[2], as: UTF8.self)) else { return nil }
        epoch = String(decoding: parts[0], as: UTF8.self)
        self.seq = seq
        self.time = time
        text = String(decoding: parts[3], as: UTF8.self)
    }
}

/// A topic's message as the publish script publishes it: `<offset>:<time>:<text>`.
struct PublishedTopicMessage {
    let offset: UInt64
    let time: Double
    let text: String

    init?(_ payload: [UInt8]) {
        let parts = payload.split(separator: UInt8(ascii: ":"), maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let offset = UInt64(String(decoding: parts[0], as: UTF8.self)),
              let time = Double(String(decoding: parts[1], as: UTF8.self)) else { return nil }
        self.offset = offset
        self.time = time
        text = String(decoding: parts[2], as: UTF8.self)
    }
}

/// One entry of a client's Stream: ID `<seq>-1`, fields `d` (the text) and `t` (send time).
struct StreamEntry {
    let seq: UInt64
    let time: Double
    let text: String

    /// An XRANGE reply: `[[id, [field, value, ...]], ...]`; malformed entries are skipped.
    static func parse(_ reply: RESPValue) -> [StreamEntry] {
        (reply.array ?? []).compactMap { item in
            guard let pair = item.array, pair.count == 2, let id = pair[0].string,
                  let seq = id.split(separator: "-").first.flatMap({ UInt64($0) }), let fields = pair[1].array else { return nil }
            var text: String?
            var time = 0.0
            var index = 0
            while index + 1 < fields.count {
                switch fields[index].string {
                case "d": text = fields[index + 1].string
                case "t": time = fields[index + 1].string.flatMap(Double.init) ?? 0
                default: break
                }
                index += 2
            }
            return text.map { StreamEntry(seq: seq, time: time, text: $0) }
        }
    }
}
