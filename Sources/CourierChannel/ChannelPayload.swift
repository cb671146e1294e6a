/// A message as sent: its text and the JSON string the frames carry, made once per
/// `sendMessage` or `publish`. A topic's subscribers all hold the same payload (a reference
/// each, not a copy of the text), and no delivery escapes the text again.
package final class ChannelPayload: Sendable {
    package let text: String
    /// The text as a JSON string literal, quotes included.
    package let json: [UInt8]
    /// When it was sent: its age in the recovery window counts from here.
    package let time: Double
    /// The topic whose own offsets number it, for an engine that numbers a topic's messages
    /// once for all its subscribers (Redis) rather than in each subscriber's sequence; its
    /// frames name the topic, and the message's `seq` is its offset in the topic.
    package let topic: String?
    /// `topic` as a JSON string literal, made once per message.
    let topicJSON: [UInt8]

    /// How many sessions of an engine that accounts for held memory (`HeldMemory`) hold it.
    /// `nonisolated(unsafe)`: read and written only by that engine's `HeldMemory`, under the
    /// engine's lock; every other reader of the payload leaves it alone.
    nonisolated(unsafe) var holders = 0

    package init(_ text: String, time: Double, topic: String? = nil) {
        self.text = text
        self.time = time
        self.topic = topic
        json = ChannelFrames.jsonString(text)
        topicJSON = topic.map(ChannelFrames.jsonString) ?? []
    }

    /// What the message counts against a client's held-bytes budget.
    package var byteCount: Int { text.utf8.count }

    /// About what the message takes in memory: its text, its JSON form, and the objects
    /// holding them.
    var footprintBytes: Int { text.utf8.count + json.count + 96 }
}

/// A message handed to a connection, with the sequence number it has in the client's session
/// (or, for a payload with a `topic`, its offset in that topic).
package struct HeldMessage: Sendable {
    package let seq: UInt64
    package let payload: ChannelPayload

    package init(seq: UInt64, payload: ChannelPayload) {
        self.seq = seq
        self.payload = payload
    }

    package var text: String { payload.text }
}
