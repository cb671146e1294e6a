import Courier
import CourierHTTP

/// The JSON frames of the channel protocol (docs/channel-protocol.md), written by hand: they
/// are on the delivery path of every message.
enum ChannelFrames {
    /// The bytes of a message frame, which the WebSocket frame header gives before them.
    static func messageByteCount(seq: UInt64, payload: ChannelPayload) -> Int {
        let prefix = payload.topic == nil ? messagePrefix.utf8CodeUnitCount
            : topicPrefix.utf8CodeUnitCount + payload.topicJSON.count + seqKey.utf8CodeUnitCount
        return prefix + DecimalText.digitCount(seq) + dataKey.utf8CodeUnitCount + payload.json.count + 1
    }

    /// Writes `{"type":"message","seq":N,"data":"..."}` (a topic's message:
    /// `{"type":"message","topic":"T","seq":K,"data":"..."}`) from the payload's JSON, made once
    /// however many clients the message goes to.
    static func appendMessage(seq: UInt64, payload: ChannelPayload, to out: inout [UInt8]) {
        if payload.topic == nil {
            append(messagePrefix, to: &out)
        } else {
            append(topicPrefix, to: &out)
            out.append(contentsOf: payload.topicJSON)
            append(seqKey, to: &out)
        }
        out.appendDecimal(seq)
        append(dataKey, to: &out)
        out.append(contentsOf: payload.json)
        out.append(UInt8(ascii: "}"))
    }

    static func message(seq: UInt64, payload: ChannelPayload) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(messageByteCount(seq: seq, payload: payload))
        appendMessage(seq: seq, payload: payload, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func opened(sessionID: String, seq: UInt64) -> String {
        "{\"type\":\"opened\",\"session\":\"\(sessionID)\",\"seq\":\(seq)}"
    }

    static func error(code: Int, description: String) -> String {
        var out = Array("{\"type\":\"error\",\"code\":\(code),\"description\":".utf8)
        out += jsonString(description)
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }

    /// `text` as a JSON string literal, quotes included, by the framework's JSON writer.
    static func jsonString(_ text: String) -> [UInt8] {
        var writer = ByteWriter(capacity: text.utf8.count + 8)
        JSONString.append(text, to: &writer)
        return Array(writer.bytes)
    }

    static let pong = "{\"type\":\"pong\"}"

    private static let messagePrefix: StaticString = "{\"type\":\"message\",\"seq\":"
    private static let topicPrefix: StaticString = "{\"type\":\"message\",\"topic\":"
    private static let seqKey: StaticString = ",\"seq\":"
    private static let dataKey: StaticString = ",\"data\":"

    private static func append(_ text: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}

/// The errors a client sees, with the original API's codes and `+`-encoded descriptions.
enum ChannelFailure: Error {
    case invalidToken, tokenTimedOut, replaced, sessionLost, badRequest
    /// The engine cannot reach its store: not an error frame (which would end the channel for
    /// good) but a dropped transport, so the client reconnects with backoff and resumes.
    case unavailable

    var code: Int {
        switch self {
        case .invalidToken, .tokenTimedOut: 401
        case .replaced: 409
        case .sessionLost: 410
        case .badRequest: 400
        case .unavailable: 503
        }
    }

    var description: String {
        switch self {
        case .invalidToken: "Invalid+token."
        case .tokenTimedOut: "Token+timed+out."
        case .replaced: "Replaced+by+another+connection."
        case .sessionLost: "Channel+session+expired."
        case .badRequest: "Bad+request."
        case .unavailable: "Channel+service+unavailable."
        }
    }

    var frame: String { ChannelFrames.error(code: code, description: description) }
}
