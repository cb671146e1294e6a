import CourierHTTP
import FuzzSupport

/// WebSocketParser with and without permessage-deflate (context takeover, none, none with the
/// loop's shared streams), under message limits from 0 bytes to Int.max. The input is either
/// the wire bytes themselves, or (mostly) a script of frames that is encoded here, masked and,
/// when agreed, compressed, so that a reference model knows what the parser must answer.
/// Invariants: `consumed` within the input; no message over the limit and no control payload
/// over 125 bytes; whole and split give the same messages and the same close code; and, for
/// scripted frames, the messages and the close code the model expects (text exactly as sent,
/// so valid UTF-8 in, the same UTF-8 out; invalid UTF-8, oversized or malformed frames refused
/// with 1007, 1009, 1002 at the frame that breaks the rule).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let settings = input.byte()
    let limit = [0, 1, 7, 125, 300, 4096, 65536, Int.max][Int(settings & 7)]
    let compression = Compression(rawValue: Int(settings >> 3) % 4)!
    let scripted = settings & 0x20 == 0
    let lengths = input.splitLengths()

    var expected: Expected?
    let wire: [UInt8]
    if scripted {
        var script = Script(input: input, limit: limit, compression: compression)
        script.run()
        wire = script.wire
        expected = script.expected
    } else {
        wire = input.rest()
    }

    let shared = SharedDeflateStreams()
    let whole = run(wire: wire, pieces: [wire[...]], limit: limit, compression: compression, shared: shared)
    let split = run(wire: wire, pieces: splitPieces(wire, lengths: lengths), limit: limit, compression: compression, shared: shared)
    invariant(whole.messages == split.messages, "whole and split differ:\n\(whole.messages)\n\(split.messages)")
    invariant(whole.closeCode == split.closeCode, "whole and split close codes differ: \(String(describing: whole.closeCode)) vs \(String(describing: split.closeCode))")

    if let expected {
        let checked = min(expected.predictableMessages, expected.messages.count)
        invariant(whole.messages.count >= checked || whole.closeCode != nil,
                  "the parser delivered \(whole.messages.count) messages and stopped; the model expects \(expected.messages.count)")
        invariant(Array(whole.messages.prefix(checked)) == Array(expected.messages.prefix(checked)),
                  "messages differ from the model:\n\(whole.messages.prefix(checked))\n\(expected.messages.prefix(checked))")
        if expected.isPredictable {
            invariant(whole.messages == expected.messages, "messages differ from the model:\n\(whole.messages)\n\(expected.messages)")
            invariant(whole.closeCode == expected.closeCode,
                      "close code \(String(describing: whole.closeCode)), the model expects \(String(describing: expected.closeCode))")
        }
    }
    return 0
}

enum Compression: Int {
    case none, contextTakeover, noContextTakeover, noContextTakeoverShared

    var isOn: Bool { self != .none }

    func parameters() -> PerMessageDeflateParameters {
        var parameters = PerMessageDeflateParameters()
        if self == .noContextTakeover || self == .noContextTakeoverShared {
            parameters.clientNoContextTakeover = true
            parameters.serverNoContextTakeover = true
        }
        return parameters
    }
}

struct Run {
    var messages: [WebSocketParser.Message] = []
    var closeCode: UInt16?
}

/// Feeds `pieces` as reads, offering unconsumed bytes again with the next read, as WebSocket does.
func run(wire: [UInt8], pieces: [ArraySlice<UInt8>], limit: Int, compression: Compression, shared: SharedDeflateStreams) -> Run {
    let deflate = compression.isOn
        ? PerMessageDeflate(parameters: compression.parameters(), shared: compression == .noContextTakeoverShared ? shared : nil)
        : nil
    var parser = WebSocketParser(maxMessageBytes: limit, deflate: deflate)
    var result = Run()
    var pending: [UInt8] = []
    reads: for piece in pieces {
        pending += piece
        var messagesWithoutInput = 0
        while true {
            let input = pending
            let step: Result<(Int, WebSocketParser.Message?), WebSocketProtocolError> = input.withUnsafeBytes { raw in
                do throws(WebSocketProtocolError) {
                    let (consumed, message) = try parser.next(raw)
                    invariant(consumed >= 0 && consumed <= raw.count, "consumed \(consumed) of \(raw.count)")
                    return .success((consumed, message))
                } catch {
                    return .failure(error)
                }
            }
            switch step {
            case .failure(let error):
                invariant([1002, 1007, 1009].contains(error.code), "close code \(error.code)")
                result.closeCode = error.code
                break reads
            case .success(let (consumed, message)):
                pending.removeFirst(consumed)
                messagesWithoutInput = consumed == 0 ? messagesWithoutInput + 1 : 0
                invariant(messagesWithoutInput < 2, "messages without consuming input")
                if let message {
                    check(message, limit: limit)
                    result.messages.append(message)
                } else if consumed == 0 {
                    continue reads
                }
            }
        }
    }
    return result
}

private func check(_ message: WebSocketParser.Message, limit: Int) {
    switch message {
    case .text(let text): invariant(text.utf8.count <= limit, "text of \(text.utf8.count) bytes, limit \(limit)")
    case .binary(let bytes): invariant(bytes.count <= limit, "binary of \(bytes.count) bytes, limit \(limit)")
    case .ping(let bytes), .pong(let bytes): invariant(bytes.count <= 125, "control payload of \(bytes.count) bytes")
    case .close(let code, let reason):
        invariant(Array(reason.utf8).count <= 123, "close reason of \(reason.utf8.count) bytes")
        if let code { invariant(WebSocketCloseCode.isValidOnWire(code), "close code \(code) delivered") }
    }
}

/// What the model says the parser must deliver, and where it must stop.
struct Expected {
    var messages: [WebSocketParser.Message] = []
    var closeCode: UInt16?
    /// Messages before the first frame the model cannot judge (a corrupted compressed payload,
    /// a raw frame header); all of them when there is none.
    var predictableMessages = Int.max
    var isPredictable: Bool { predictableMessages == .max }
}

/// Turns the input into frames, and runs the reference model over them as they are written.
struct Script {
    var input: FuzzInput
    let limit: Int
    let compression: Compression
    var wire: [UInt8] = []
    var expected = Expected()
    /// Compresses as the client would; with context takeover its window carries over, as the parser's does.
    let compressor: PerMessageDeflate?
    /// The model's state: the data message in progress.
    private var messageOpcode: UInt8?
    private var messageCompressed = false
    private var messageBytes: [UInt8] = []
    private var messageOriginal: [UInt8] = []

    init(input: FuzzInput, limit: Int, compression: Compression) {
        self.input = input
        self.limit = limit
        self.compression = compression
        compressor = compression.isOn ? PerMessageDeflate(parameters: compression.parameters()) : nil
    }

    mutating func run() {
        var frames = 0
        while !input.isExhausted, expected.closeCode == nil, frames < 64 {
            frames += 1
            let kind = input.byte()
            switch kind % 12 {
            case 0...5: dataMessage(kind)
            case 6: control(opcode: 0x9)
            case 7: control(opcode: 0xA)
            case 8: close()
            case 9: rawFrame()
            case 10: stray(kind)
            default: dataMessage(kind)
            }
        }
    }

    /// A text or binary message in 1...4 fragments, maybe compressed, with control frames between.
    private mutating func dataMessage(_ kind: UInt8) {
        let text = kind & 1 == 0
        let fragments = 1 + input.choice(4)
        let flags = input.byte()
        let compress = compression.isOn && flags & 1 == 1
        let corrupt = compress && flags & 0x0E == 0x0E
        let length = Int(input.byte()) * (flags & 0x10 != 0 ? 8 : 1)
        var original = input.take(length)
        if text, flags & 0x20 != 0 { original = Array(String(decoding: original, as: UTF8.self).utf8) }
        var payload = compress ? compressor!.compress(original) : original
        if corrupt, !payload.isEmpty {
            payload[input.choice(256) % payload.count] ^= input.byte() | 1
            unpredictableFromHere()
        }
        var start = 0
        for fragment in 0..<fragments {
            let end = fragment == fragments - 1 ? payload.count : min(payload.count, start + input.choice(256))
            let opcode: UInt8 = fragment == 0 ? (text ? 0x1 : 0x2) : 0x0
            frame(fin: fragment == fragments - 1, rsv1: fragment == 0 && compress, opcode: opcode, payload: Array(payload[start..<end]),
                  original: original)
            start = end
            if expected.closeCode != nil { return }
            if fragment < fragments - 1, flags & 0x40 != 0 { control(opcode: 0x9) }
            if expected.closeCode != nil { return }
        }
    }

    private mutating func control(opcode: UInt8) {
        let length = input.choice(130)
        frame(fin: true, rsv1: false, opcode: opcode, payload: input.take(length), original: [])
    }

    private mutating func close() {
        let codes: [UInt16] = [1000, 1001, 1002, 1005, 1006, 1007, 1011, 1012, 1015, 2000, 2999, 3000, 4999, 5000, 0, 65535]
        var payload: [UInt8] = []
        switch input.choice(4) {
        case 0: break
        case 1: payload = [input.byte()]
        default:
            let code = codes[input.choice(codes.count)]
            payload = [UInt8(code >> 8), UInt8(code & 0xFF)] + input.take(input.choice(140))
        }
        frame(fin: true, rsv1: false, opcode: 0x8, payload: payload, original: [])
    }

    /// A frame breaking one rule: a control frame fragmented or with RSV1, a continuation with
    /// nothing to continue, a reserved opcode, RSV1 without permessage-deflate.
    private mutating func stray(_ kind: UInt8) {
        let opcodes: [UInt8] = [0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xA, 0xB, 0xF]
        let opcode = opcodes[input.choice(opcodes.count)]
        let flags = input.byte()
        frame(fin: flags & 1 == 1, rsv1: flags & 2 == 2, opcode: opcode, payload: input.take(input.choice(16)), original: nil)
    }

    /// Bytes straight onto the wire: past here the model says nothing.
    private mutating func rawFrame() {
        unpredictableFromHere()
        wire += input.take(input.choice(32))
    }

    private mutating func unpredictableFromHere() {
        expected.predictableMessages = min(expected.predictableMessages, expected.messages.count)
    }

    /// Writes one masked frame and applies RFC 6455's rules to it. `original` is the message's
    /// uncompressed bytes (for the last fragment of a compressed message), nil for a stray frame.
    private mutating func frame(fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8], original: [UInt8]?) {
        let mask = input.bool() ? [input.byte(), input.byte(), input.byte(), input.byte()] : [0, 0, 0, 0]
        let longForm = input.choice(4)
        wire.append((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode)
        let extendedLength = !(payload.count <= 125 && longForm == 0)
        if !extendedLength {
            wire.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF && longForm != 3 {
            wire += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            wire.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { wire.append(UInt8(truncatingIfNeeded: payload.count >> shift)) }
        }
        wire += mask
        for (index, byte) in payload.enumerated() { wire.append(byte ^ mask[index & 3]) }
        // A data frame's length may take a longer form than it needs; a control frame's may
        // not (RFC 6455 §5.5: its length byte says 125 or less).
        model(fin: fin, rsv1: rsv1, opcode: opcode, payload: payload, original: original, extendedLength: extendedLength)
    }

    private mutating func fail(_ code: UInt16) { if expected.closeCode == nil { expected.closeCode = code } }

    private mutating func model(fin: Bool, rsv1: Bool, opcode: UInt8, payload: [UInt8], original: [UInt8]?, extendedLength: Bool) {
        guard expected.closeCode == nil else { return }
        switch opcode {
        case 0x8, 0x9, 0xA:
            guard fin, !extendedLength, payload.count <= 125, !rsv1 else { return fail(1002) }
            if opcode == 0x9 { return expected.messages.append(.ping(payload)) }
            if opcode == 0xA { return expected.messages.append(.pong(payload)) }
            if payload.isEmpty { return expected.messages.append(.close(code: nil, reason: "")) }
            guard payload.count >= 2 else { return fail(1002) }
            let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
            guard [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].contains(code) || (3000...4999).contains(code)
            else { return fail(1002) }
            guard let reason = String(validating: payload[2...], as: UTF8.self) else { return fail(1007) }
            return expected.messages.append(.close(code: code, reason: reason))
        case 0x0:
            guard messageOpcode != nil, !rsv1 else { return fail(1002) }
        case 0x1, 0x2:
            guard messageOpcode == nil, !rsv1 || compression.isOn else { return fail(1002) }
            messageOpcode = opcode
            messageCompressed = rsv1
            messageBytes = []
        default:
            return fail(1002)
        }
        guard payload.count <= limit - messageBytes.count else { return fail(1009) }
        messageBytes += payload
        if messageOpcode == 0x1, !messageCompressed, !isValidUTF8Prefix(messageBytes) { return fail(1007) }
        guard fin else { return }
        let kind = messageOpcode!
        var bytes = messageBytes
        messageOpcode = nil
        if messageCompressed {
            // A stray frame set RSV1 itself: what it inflates to is not the model's to say.
            guard let original else { return unpredictableFromHere() }
            guard original.count <= limit else { return fail(1009) }
            bytes = original
        }
        if kind == 0x1 {
            guard let text = String(validating: bytes, as: UTF8.self) else { return fail(1007) }
            expected.messages.append(.text(text))
        } else {
            expected.messages.append(.binary(bytes))
        }
    }
}

/// Whether `bytes` can be continued into valid UTF-8: valid up to a last, incomplete but so far
/// well-formed, code point. Judged by the standard library, not by the parser's validator.
func isValidUTF8Prefix(_ bytes: [UInt8]) -> Bool {
    if String(validating: bytes, as: UTF8.self) != nil { return true }
    for cut in 1...3 where cut <= bytes.count {
        guard String(validating: bytes.dropLast(cut), as: UTF8.self) != nil else { continue }
        let tail = Array(bytes.suffix(cut))
        let lead = tail[0]
        let needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        guard needed > cut else { continue }
        // Some continuation makes it whole: try the ends of every continuation range.
        let candidates: [UInt8] = [0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF]
        var completions: [[UInt8]] = [[]]
        for _ in 0..<(needed - cut) { completions = completions.flatMap { prefix in candidates.map { prefix + [$0] } } }
        if completions.contains(where: { String(validating: tail + $0, as: UTF8.self) != nil }) { return true }
    }
    return false
}
