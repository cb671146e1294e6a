/// A message as sent: its text and the JSON string the frames carry, made once per
/// `sendMessage` or `publish`. A topic's subscribers all hold the same payload (a reference
/// each, not a copy of the text), and no delivery escapes the text again.
package final class ChannelPayload: Sendable {
    package let text: String
    /// The text as a JSON string literal, quotes included.
    package let json: [UInt8]
    /// When it was sent: its age in the recovery window counts from here.
    package let time: Double

    package init(_ text: String, time: Double) {
        self.text = text
        self.time = time
        json = ChannelFrames.jsonString(text)
    }

    /// What the message counts against the held-bytes budget.
    package var byteCount: Int { text.utf8.count }
}

/// A message handed to a connection, with the sequence number it has in the client's session.
package struct HeldMessage: Sendable {
    package let seq: UInt64
    package let payload: ChannelPayload

    package init(seq: UInt64, payload: ChannelPayload) {
        self.seq = seq
        self.payload = payload
    }

    package var text: String { payload.text }
}
