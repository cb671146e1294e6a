import Courier
@testable import CourierChannel
import CourierTesting
import Foundation
import Testing

/// The channel's client-supplied fields other than the long-poll `seq` (ChannelSequenceBoundsTests
/// has that one), fed hostile values: the WebSocket open frame's `seq` as every kind of JSON
/// value, the long-poll `cid`, `session` and `token` at and past their limits and repeated,
/// tokens whose expiry bytes were changed, and the API's own numbers at the extremes. Each
/// answer is one the protocol documents, and the server goes on serving.

/// The base64url bytes of `token`, changed by `change`, spelled as a token again.
func reforged(_ token: String, _ change: (inout [UInt8]) -> Void) -> String {
    var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.utf8.count % 4 != 0 { base64 += "=" }
    var bytes = [UInt8](Data(base64Encoded: base64) ?? Data())
    change(&bytes)
    return Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
}

/// A long-poll with exactly `form` as its body (no encoding added).
func pollRaw(port: Int, _ form: String, query: String = "") async throws -> TestResponse {
    try await rawRequest(port: port, "POST /_ah/channel/poll\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: \(form.utf8.count)\r\n\r\n" + form)
}

/// Opens a channel and has a message delivered on each transport: the server still serves.
func expectChannelsStillWork(_ service: ChannelService, port: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let clientID = "alive-\(UInt32.random(in: 0...UInt32.max))"
    let socket = try ChannelSocket(port: port)
    _ = try await socket.opened(token: try service.createChannel(clientID: clientID))
    try service.sendMessage(clientID: clientID, message: "still serving")
    #expect(try await socket.next() == .message(1, "still serving"), sourceLocation: sourceLocation)
    let polled = clientID + "-lp"
    try service.sendMessage(clientID: polled, message: "still polling")
    let answer = try await LongPollClient(port: port).poll(token: try service.createChannel(clientID: polled))
    #expect(answer.status == 200, sourceLocation: sourceLocation)
    #expect(answer.frames.dropFirst() == [.message(1, "still polling")], sourceLocation: sourceLocation)
}

@Suite struct WebSocketOpenSeqValueTests {
    enum Outcome: Sendable, Equatable {
        case opened
        case error(Int)
    }

    /// The JSON text after `"seq":` in a fresh open (no session, nothing sent yet, so the last
    /// sequence number is 0), and what the client must get: a JSON value that is not a whole
    /// number from 0 to UInt64.max is a malformed frame (400); a number past what this client
    /// ID was given is a lost session (410); 0 or no seq opens.
    static let cases: [(String, Outcome)] = [
        ("0", .opened), ("null", .opened),
        ("1", .error(410)), ("18446744073709551615", .error(410)), ("9223372036854775807", .error(410)),
        ("9223372036854775808", .error(410)),
        ("-1", .error(400)), ("-9223372036854775808", .error(400)), ("18446744073709551616", .error(400)),
        ("99999999999999999999999999999", .error(400)), (String(repeating: "9", count: 4_000), .error(400)),
        ("1e30", .error(400)), ("1E400", .error(400)), ("-1E400", .error(400)), ("18446744073709551615.0", .error(400)), ("1.5", .error(400)), ("0.5", .error(400)),
        ("\"5\"", .error(400)), ("\"18446744073709551616\"", .error(400)), ("\"\"", .error(400)), ("true", .error(400)),
        ("[]", .error(400)), ("[0]", .error(400)), ("{}", .error(400)), ("{\"seq\":0}", .error(400)),
        // Not JSON at all: a malformed frame.
        ("+1", .error(400)), ("01", .error(400)), ("0x10", .error(400)), ("NaN", .error(400)), ("Infinity", .error(400)),
        ("-", .error(400)), ("1.", .error(400)), (".5", .error(400)), ("１", .error(400)),
    ]

    @Test(arguments: cases)
    func openFrameSeq(json: String, expected: Outcome) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "seq-json")
            let socket = try ChannelSocket(port: port)
            _ = socket.client.sendText("{\"type\":\"open\",\"token\":\"\(token)\",\"session\":\"\",\"seq\":\(json)}")
            let first = try await socket.next()
            switch expected {
            case .opened:
                #expect(first.type == "opened" && first.seq == 0, "\(first)")
            case .error(let code):
                #expect(first.type == "error" && first.code == code, "\(first)")
                #expect(try await socket.next() == ChannelFrame(type: "close", code: 4000 + code))
            }
            try await expectChannelsStillWork(service, port: port)
        }
    }

    /// JSON's other spellings of whole numbers (exponents, a zero fraction, negative zero, a
    /// fraction that underflows to zero) are read as the number they are: JSONDecoder converts
    /// them exactly (`UInt64(exactly:)`), never by truncation, so 1.5 and 1e30 above are 400.
    @Test(arguments: [("1e2", UInt64(100)), ("1.0", 1), ("0.0", 0), ("-0", 0), ("0e0", 0), ("1E+2", 100), ("-1e-400", 0), ("1e-400", 0)])
    func otherSpellingsOfWholeNumbers(json: String, value: UInt64) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = socket.client.sendText("{\"type\":\"open\",\"token\":\"\(try service.createChannel(clientID: "spell"))\",\"seq\":\(json)}")
            let first = try await socket.next()
            let readAsTheNumber = value == 0 ? first.type == "opened" : first == .error(410, "Channel+session+expired.")
            #expect(readAsTheNumber, "\(json): \(first)")
        }
    }

    /// Every other field with the wrong type, and frames nested past any parser's patience.
    @Test(arguments: [
        #"{"type":"open","token":5}"#, #"{"type":"open","token":null,"seq":0}"#, #"{"type":"open","session":18446744073709551616}"#,
        #"{"type":"open","session":[],"seq":0}"#, #"{"type":1}"#, #"{"type":null}"#, #"{"seq":0}"#, #"[]"#, #"0"#, #""open""#,
        #"{"type":"open","token":"\ud800"}"#, #"{"type":"open","token":"\u0000"}"#, "{\"type\":\"open\"",
        String(repeating: "[", count: 4_000) + String(repeating: "]", count: 4_000),
        #"{"type":"open","token":"#, #"{"type":"open","seq":"# + String(repeating: "[", count: 3_000),
        "{\"type\":\"open\",\"x\":" + String(repeating: "{\"a\":", count: 1_300) + "0" + String(repeating: "}", count: 1_300) + "}",
    ])
    func malformedOpenFramesAre400(frame: String) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = socket.client.sendText(frame)
            let first = try await socket.next()
            // A frame that still names no valid token is refused as such (401), else malformed (400).
            #expect(first == .error(400, "Bad+request.") || first == .error(401, "Invalid+token."), "\(first)")
            #expect(try await socket.next().type == "close")
            try await expectChannelsStillWork(service, port: port)
        }
    }

    /// A frame over the channel's 8 KiB message limit is 1009, whatever it holds.
    @Test func anOversizedOpenFrameIs1009() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let socket = try ChannelSocket(port: port)
            _ = socket.client.sendText(#"{"type":"open","token":""# + String(repeating: "9", count: 8_200) + #""}"#)
            #expect(try await socket.next() == ChannelFrame(type: "close", code: 1009))
            try await expectChannelsStillWork(service, port: port)
        }
    }
}

@Suite struct LongPollFieldValueTests {
    /// `cid` is 1 to 64 bytes (of its decoded UTF-8); anything else is 400.
    @Test(arguments: [("a", 200), (String(repeating: "c", count: 64), 200), (String(repeating: "é", count: 32), 200),
                      ("%FF%FE", 200), ("", 400), (String(repeating: "c", count: 65), 400), (String(repeating: "é", count: 33), 400),
                      (String(repeating: "9", count: 7_000), 400)])
    func cidLength(cid: String, status: Int) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "cid")
            let encoded = cid.hasPrefix("%") ? cid : URLEncoding.encode(cid)
            let answer = try await pollRaw(port: port, "token=\(token)&cid=\(encoded)&seq=0")
            #expect(answer.status == status)
            if status == 400 { #expect(answer.text == #"[{"type":"error","code":400,"description":"Bad+request."}]"#) }
        }
    }

    /// A session the server never gave, however long or strange, is a lost session (410).
    @Test(arguments: ["x", "0", "-1", "18446744073709551616", "%00", "%FF", String(repeating: "s", count: 7_000)])
    func unknownSessionsAre410(session: String) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "session")
            let answer = try await pollRaw(port: port, "token=\(token)&cid=c1&seq=0&session=\(session)")
            #expect(answer.status == 410)
            #expect(answer.text == #"[{"type":"error","code":410,"description":"Channel+session+expired."}]"#)
        }
    }

    @Test func aBodyOverTheEndpointLimitIs413() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "big")
            let answer = try await pollRaw(port: port, "token=\(token)&cid=c1&seq=0&session=" + String(repeating: "s", count: 8_200))
            #expect(answer.status == 413)
            try await expectChannelsStillWork(service, port: port)
        }
    }

    /// A repeated field counts once: the first of each name, as `request["name"]` reads it.
    @Test func repeatedFieldsUseTheFirst() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let token = try service.createChannel(clientID: "twice")
            #expect(try await pollRaw(port: port, "token=garbage&token=\(token)&cid=c1").status == 401)
            let first = try await pollRaw(port: port, "token=\(token)&token=garbage&cid=c2&seq=0&seq=18446744073709551615&seq=-1")
            #expect(first.status == 200 && first.text.contains(#""type":"opened""#))
            #expect(try await pollRaw(port: port, "token=\(token)&cid=c3&seq=-1&seq=0").status == 400)
            #expect(try await pollRaw(port: port, "token=\(token)&cid=&cid=c4").status == 400)
        }
    }

    /// Token text of every length up to and past the 1 KiB check, and bad escapes in it.
    @Test(arguments: [String(repeating: "A", count: 1_023), String(repeating: "A", count: 1_024), String(repeating: "A", count: 7_000),
                      "%", "%%", "%G0", "%FF", "%00", "+", "-", "_", "=", "AAAA===="])
    func tokenTextThatIsNoTokenIs401(token: String) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let answer = try await pollRaw(port: port, "token=\(token)&cid=c1&seq=0")
            #expect(answer.status == 401)
            #expect(answer.text == #"[{"type":"error","code":401,"description":"Invalid+token."}]"#)
        }
    }
}

@Suite struct TokenExpiryFieldTests {
    /// Bytes 1-8 of a token are its expiry, read only after the MAC checks out: a token whose
    /// expiry (or version, or length) was changed is invalid, never "expired" or a trap.
    static let forgeries: [(String, @Sendable (inout [UInt8]) -> Void)] = [
        ("expiry all ones", { for index in 1...8 { $0[index] = 0xFF } }),
        ("expiry Int64.max", { $0[1] = 0x7F; for index in 2...8 { $0[index] = 0xFF } }),
        ("expiry Int64.max + 1", { $0[1] = 0x80; for index in 2...8 { $0[index] = 0 } }),
        ("expiry zero", { for index in 1...8 { $0[index] = 0 } }),
        ("expiry one second later", { $0[8] &+= 1 }),
        ("version 0", { $0[0] = 0 }),
        ("version 255", { $0[0] = 0xFF }),
        ("cut to the smallest length", { $0.removeSubrange(57...) }),
        ("cut below it", { $0.removeSubrange(40...) }),
        ("one byte", { $0.removeSubrange(1...) }),
        ("a byte more", { $0.append(0) }),
    ]

    @Test(arguments: 0..<forgeries.count)
    func forgedTokensAreInvalidOnBothTransports(index: Int) async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            let forged = reforged(try service.createChannel(clientID: "forged"), Self.forgeries[index].1)
            let socket = try ChannelSocket(port: port)
            socket.open(token: forged)
            #expect(try await socket.next() == .error(401, "Invalid+token."), "\(Self.forgeries[index].0)")
            let answer = try await LongPollClient(port: port).poll(token: forged)
            #expect(answer.status == 401 && answer.frames == [.error(401, "Invalid+token.")], "\(Self.forgeries[index].0)")
        }
    }

    /// Genuine tokens at the expiry field's extremes: the far future opens (and the sweep, which
    /// compares it with the clock, does not trip over it); 0 is expired.
    @Test func genuineTokensAtTheExtremesOfExpiry() async throws {
        let clock = ManualClock()
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: clock)
        try await withChannelServer(service) { port in
            let farFuture = TokenSigner(secret: testSecret, clock: ManualClock(18_000_000_000_000_000_000))
                .issue(clientID: "far", durationSeconds: 0).token
            let socket = try ChannelSocket(port: port)
            #expect(try await socket.opened(token: farFuture).type == "opened")
            clock.advance(by: 1e15)
            try await Task.sleep(for: .milliseconds(600))
            try service.sendMessage(clientID: "far", message: "later")
            #expect(try await socket.next() == .message(1, "later"))
            let epoch = TokenSigner(secret: testSecret, clock: ManualClock(0)).issue(clientID: "epoch", durationSeconds: 0).token
            let expired = try ChannelSocket(port: port)
            expired.open(token: epoch)
            #expect(try await expired.next() == .error(401, "Token+timed+out."))
        }
    }

    /// The API's own durations at the extremes: refused with the duration in minutes, rounded
    /// up, and no overflow computing it.
    @Test(arguments: [(Int.max, Int.max / 60 + 1), (Int.max - 59, Int.max / 60), (Int.min, Int.min / 60), (-1, 0), (86_401, 1_441),
                      (86_460, 1_441), (86_461, 1_442)])
    func extremeDurationsInSecondsAreRefused(seconds: Int, minutes: Int) {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        #expect(throws: ChannelError.invalidTokenDuration(minutes)) { try service.createChannel(clientID: "d", durationSeconds: seconds) }
    }

    @Test(arguments: [Int.max, Int.min, 1_441, 0, -1])
    func extremeDurationsInMinutesAreRefused(minutes: Int) {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        #expect(throws: ChannelError.invalidTokenDuration(minutes)) { try service.createChannel(clientID: "d", durationMinutes: minutes) }
    }
}
