/// Reads a client's WebSocket frames (RFC 6455 §5) incrementally and assembles messages:
/// fragments are joined, control frames may arrive between them, text is validated as UTF-8
/// as its bytes arrive (so an invalid message fails before its end), and every rule a server
/// must enforce throws with the close code to send (1002, 1007 or 1009). No I/O.
public struct WebSocketParser {
    /// A whole message (fragments joined, decompressed, UTF-8 checked) or a control frame.
    public enum Message: Equatable {
        /// A text message, already validated as UTF-8.
        case text(String)
        /// A binary message.
        case binary([UInt8])
        /// A ping; the caller must answer with a pong carrying the same bytes (the parser does no I/O).
        case ping([UInt8])
        /// A pong, answered or unsolicited.
        case pong([UInt8])
        /// The client's close frame; `code` is nil when the frame had no payload. Answer with a close frame, then close.
        case close(code: UInt16?, reason: String)
    }

    private struct FrameState {
        var opcode: WebSocketOpcode
        var fin: Bool
        var remaining: Int
        var mask: (UInt8, UInt8, UInt8, UInt8)
        var maskOffset: Int
    }

    /// Largest message accepted, in bytes after decompression; past it the parser throws 1009.
    public let maxMessageBytes: Int
    /// The most a frame header alone makes the parser reserve for a message's payload.
    static let maxUpfrontReservation = 64 * 1024
    private let deflate: PerMessageDeflate?
    private var frame: FrameState?
    /// The data message being assembled (its first frame's opcode), if any.
    private var messageOpcode: WebSocketOpcode?
    private var messageCompressed = false
    private var message: [UInt8] = []
    private var control: [UInt8] = []
    private var validator = UTF8Validator()

    /// A parser for one connection. Pass `deflate` only when permessage-deflate was agreed; otherwise compressed frames (RSV1) are refused.
    public init(maxMessageBytes: Int = 64 * 1024, deflate: PerMessageDeflate? = nil) {
        self.maxMessageBytes = maxMessageBytes
        self.deflate = deflate
    }

    /// True when no frame or message is partly received.
    public var isIdle: Bool { frame == nil && messageOpcode == nil }

    /// Reads from the start of `input`: returns the bytes consumed and at most one message (nil when more input is needed). Call again with the unconsumed bytes plus any new.
    /// Throws with the close code to send; the connection must then be failed, not parsed further.
    public mutating func next(_ input: UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> (consumed: Int, message: Message?) {
        guard var current = frame else { return try readHeader(input) }
        let take = min(current.remaining, input.count)
        if take == 0 && current.remaining > 0 { return (0, nil) }
        if current.opcode.isControl {
            Self.unmask(input, count: take, state: &current, into: &control, limit: 125)
        } else {
            let start = message.count
            Self.unmask(input, count: take, state: &current, into: &message, limit: maxMessageBytes)
            if messageOpcode == .text, !messageCompressed {
                let fresh = message.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: $0[start...]) }
                if !validator.feed(fresh) { throw WebSocketProtocolError(WebSocketCloseCode.invalidPayload, "invalid UTF-8 in text message") }
            }
        }
        current.remaining -= take
        if current.remaining > 0 {
            frame = current
            return (take, nil)
        }
        frame = nil
        return (take, try finishFrame(current))
    }

    private mutating func readHeader(_ input: UnsafeRawBufferPointer) throws(WebSocketProtocolError) -> (consumed: Int, message: Message?) {
        guard input.count >= 2 else { return (0, nil) }
        let first = input[0], second = input[1]
        let fin = first & 0x80 != 0
        let rsv1 = first & 0x40 != 0
        guard first & 0x30 == 0 else { throw protocolError("reserved bits RSV2/RSV3 set") }
        guard let opcode = WebSocketOpcode(rawValue: first & 0x0F) else { throw protocolError("reserved opcode \(first & 0x0F)") }
        guard second & 0x80 != 0 else { throw protocolError("client frame not masked") }
        var length = Int(second & 0x7F)
        var headerLength = 6
        if length == 126 { headerLength = 8 } else if length == 127 { headerLength = 14 }
        if opcode.isControl {
            guard fin else { throw protocolError("fragmented control frame") }
            guard length <= 125 else { throw protocolError("control frame payload over 125 bytes") }
            guard !rsv1 else { throw protocolError("RSV1 set on a control frame") }
        } else if opcode == .continuation {
            guard messageOpcode != nil else { throw protocolError("continuation frame without a message in progress") }
            guard !rsv1 else { throw protocolError("RSV1 set on a continuation frame") }
        } else {
            guard messageOpcode == nil else { throw protocolError("new data frame while a fragmented message is in progress") }
            guard !rsv1 || deflate != nil else { throw protocolError("RSV1 set without permessage-deflate") }
        }
        guard input.count >= headerLength else { return (0, nil) }
        if length == 126 {
            length = Int(input[2]) << 8 | Int(input[3])
        } else if length == 127 {
            guard input[2] & 0x80 == 0 else { throw protocolError("64-bit payload length with the high bit set") }
            var value: UInt64 = 0
            for index in 2..<10 { value = value << 8 | UInt64(input[index]) }
            guard value <= UInt64(Int.max / 2) else { throw tooBig() }
            length = Int(value)
        }
        if !opcode.isControl {
            // The sum of the fragments is what is limited; written as a subtraction (the message
            // never exceeds the limit) so no declared length can overflow it.
            guard length <= maxMessageBytes - message.count else { throw tooBig() }
            if opcode != .continuation {
                messageOpcode = opcode
                messageCompressed = rsv1
                validator.reset()
                // Only the header vouches for the length: reserving all of it up front would let
                // 14 bytes make the server allocate up to the limit (a limit set to Int.max
                // would make the allocation fail and crash). Larger payloads grow as they arrive.
                message.reserveCapacity(min(length, maxMessageBytes, Self.maxUpfrontReservation))
            }
        } else {
            control.removeAll(keepingCapacity: true)
        }
        let maskStart = headerLength - 4
        let state = FrameState(opcode: opcode, fin: fin, remaining: length,
                               mask: (input[maskStart], input[maskStart + 1], input[maskStart + 2], input[maskStart + 3]),
                               maskOffset: 0)
        if length == 0 { return (headerLength, try finishFrame(state)) }
        frame = state
        return (headerLength, nil)
    }

    private mutating func finishFrame(_ state: FrameState) throws(WebSocketProtocolError) -> Message? {
        switch state.opcode {
        case .ping: return .ping(control)
        case .pong: return .pong(control)
        case .close: return try closeMessage(control)
        case .text, .binary, .continuation:
            guard state.fin, let opcode = messageOpcode else { return nil }
            var payload = message
            message = []
            messageOpcode = nil
            if messageCompressed, let deflate {
                payload = try deflate.decompress(payload, limit: maxMessageBytes)
                if opcode == .text, !UTF8Validator.validate(payload) {
                    throw WebSocketProtocolError(WebSocketCloseCode.invalidPayload, "invalid UTF-8 in text message")
                }
            } else if opcode == .text, !validator.isComplete {
                throw WebSocketProtocolError(WebSocketCloseCode.invalidPayload, "text message ends inside a code point")
            }
            messageCompressed = false
            return opcode == .text ? .text(String(decoding: payload, as: UTF8.self)) : .binary(payload)
        }
    }

    private func closeMessage(_ payload: [UInt8]) throws(WebSocketProtocolError) -> Message {
        if payload.isEmpty { return .close(code: nil, reason: "") }
        guard payload.count >= 2 else { throw protocolError("close frame with a 1-byte payload") }
        let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        guard WebSocketCloseCode.isValidOnWire(code) else { throw protocolError("invalid close code \(code)") }
        let reason = Array(payload[2...])
        guard UTF8Validator.validate(reason) else {
            throw WebSocketProtocolError(WebSocketCloseCode.invalidPayload, "close reason is not UTF-8")
        }
        return .close(code: code, reason: String(decoding: reason, as: UTF8.self))
    }

    private static func unmask(_ input: UnsafeRawBufferPointer, count: Int, state: inout FrameState,
                               into output: inout [UInt8], limit: Int) {
        guard count > 0 else { return }
        let mask = [state.mask.0, state.mask.1, state.mask.2, state.mask.3]
        let offset = state.maskOffset
        // Doubling, not exactly what is needed: `reserveCapacity` allocates exactly what it is
        // asked, so a message arriving in many small fragments or reads would be copied whole
        // for each one. Never past `limit`, the most the message may hold.
        let needed = output.count + count
        if needed > output.capacity { output.reserveCapacity(max(needed, min(2 * output.capacity, limit))) }
        for index in 0..<count {
            output.append(input[index] ^ mask[(offset + index) & 3])
        }
        state.maskOffset = (offset + count) & 3
    }

    private func protocolError(_ reason: String) -> WebSocketProtocolError {
        WebSocketProtocolError(WebSocketCloseCode.protocolError, reason)
    }

    private func tooBig() -> WebSocketProtocolError {
        WebSocketProtocolError(WebSocketCloseCode.messageTooBig, "message over \(maxMessageBytes) bytes")
    }
}
