/// A message as sent: its text and the JSON string the frames carry, made once per
/// `sendMessage` or `publish`. A topic's subscribers all hold the same payload (a reference
/// each, not a copy of the text), and no delivery escapes the text again.
final class ChannelPayload: Sendable {
    let text: String
    /// The text as a JSON string literal, quotes included.
    let json: [UInt8]
    /// When it was sent: its age in the recovery window counts from here.
    let time: Double

    init(_ text: String, time: Double) {
        self.text = text
        self.time = time
        json = ChannelFrames.jsonString(text)
    }

    /// What the message counts against the held-bytes budget.
    var byteCount: Int { text.utf8.count }
}

/// A message handed to a connection, with the sequence number it has in the client's session.
struct HeldMessage: Sendable {
    let seq: UInt64
    let payload: ChannelPayload

    var text: String { payload.text }
}
