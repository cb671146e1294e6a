/// The JSON frames of the channel protocol (docs/channel-protocol.md), written by hand: they
/// are on the delivery path of every message.
enum ChannelFrames {
    static func message(seq: UInt64, text: String) -> String {
        var out = "{\"type\":\"message\",\"seq\":\(seq),\"data\":"
        appendJSONString(text, to: &out)
        out += "}"
        return out
    }

    static func opened(sessionID: String, seq: UInt64) -> String {
        "{\"type\":\"opened\",\"session\":\"\(sessionID)\",\"seq\":\(seq)}"
    }

    static func error(code: Int, description: String) -> String {
        var out = "{\"type\":\"error\",\"code\":\(code),\"description\":"
        appendJSONString(description, to: &out)
        out += "}"
        return out
    }

    static let pong = "{\"type\":\"pong\"}"

    static func appendJSONString(_ text: String, to out: inout String) {
        out += "\""
        var needsEscape = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscape = true
            break
        }
        if !needsEscape {
            out += text
        } else {
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                default:
                    if scalar.value < 0x20 {
                        let hex = String(scalar.value, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
        }
        out += "\""
    }
}

/// The errors a client sees, with the original API's codes and `+`-encoded descriptions.
enum ChannelFailure {
    static let invalidToken = (code: 401, description: "Invalid+token.")
    static let tokenTimedOut = (code: 401, description: "Token+timed+out.")
    static let replaced = (code: 409, description: "Replaced+by+another+connection.")
    static let sessionLost = (code: 410, description: "Channel+session+expired.")
    static let badRequest = (code: 400, description: "Bad+request.")
}
