import Courier
import CourierChannel
import CourierTesting
import Dispatch
import Foundation
import Testing

/// The channel endpoints as randomized-mutation targets (no libFuzzer here: seeded inputs, so a
/// failure names its seed and index and can be replayed). Long-poll bodies and WebSocket open
/// frames are built from hostile field values (numbers past every integer type, signs, hex,
/// huge strings, bad percent escapes, repeated fields, wrong JSON types, deep nesting), then
/// sometimes mutated byte by byte. Every answer must be one the protocol documents (a 4xx with
/// its error frame, 413 for an oversized body, or a normal answer when the mutation left a valid
/// request), and afterwards a normal channel still opens and receives a message.
@Suite struct ChannelInputMutationTests {
    static let seed: UInt64 = 0x00C4_A77E_1F00_D5ED
    static let clientIDs = ["mut-a", "mut-b", "mut-c"]

    @Test func mutatedLongPollsAreAnsweredAsDocumented() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(pollTimeoutSeconds: 0.5), clock: ManualClock())
        try await withChannelServer(service) { port in
            var mutator = PollMutator(random: SeededRandom(seed: Self.seed),
                                      tokens: try Self.clientIDs.map { try service.createChannel(clientID: $0) })
            var problems: [String] = []
            var statuses: [Int: Int] = [:]
            for index in 0..<300 {
                let input = mutator.make()
                // Something is always due, so a poll that is accepted answers at once.
                try service.sendMessage(clientID: Self.clientIDs[input.client], message: "m\(index)")
                let response: TestResponse
                do {
                    response = try await rawRequest(port: port, bytes: input.request)
                } catch {
                    problems.append("#\(index) \(input.summary): no answer (\(error))")
                    continue
                }
                statuses[response.status, default: 0] += 1
                if let problem = Self.problem(with: response, bodyBytes: input.bodyBytes) {
                    problems.append("#\(index) \(input.summary): \(problem)")
                } else if response.status == 200, let frames = try? JSONDecoder().decode([ChannelFrame].self, from: Data(response.body)),
                          let opened = frames.first(where: { $0.type == "opened" }), let session = opened.session {
                    mutator.remember(client: input.client, cid: input.cid, session: session)
                }
            }
            #expect(problems.isEmpty, "seed \(Self.seed): \(problems.count) bad answers, first: \(problems.prefix(3))")
            // The inputs reach every answer, not only the first refusal: else this proves little.
            #expect(Set(statuses.keys).isSuperset(of: [200, 400, 401, 409, 410, 413]), "answers: \(statuses)")
            try await expectChannelsStillWork(service, port: port)
        }
    }

    @Test func mutatedOpenFramesAreAnsweredAsDocumented() async throws {
        let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())
        try await withChannelServer(service) { port in
            var mutator = OpenFrameMutator(random: SeededRandom(seed: Self.seed ^ 0x5EED),
                                           tokens: try Self.clientIDs.map { try service.createChannel(clientID: $0) })
            var problems: [String] = []
            var answers: [String: Int] = [:]
            for index in 0..<200 {
                let input = mutator.make()
                let socket = try ChannelSocket(port: port)
                _ = socket.client.send(WebSocketOpcode.text.rawValue, input.bytes)
                let outcome = await Self.outcome(of: socket)
                switch outcome {
                case .success(let (answer, session)):
                    answers[answer, default: 0] += 1
                    if let session { mutator.remember(client: input.client, session: session) }
                case .failure(let problem):
                    problems.append("#\(index) \(input.summary): \(problem.text)")
                }
            }
            #expect(problems.isEmpty, "seed \(Self.seed ^ 0x5EED): \(problems.count) bad answers, first: \(problems.prefix(3))")
            #expect(Set(answers.keys).isSuperset(of: ["opened", "error 400", "error 401", "error 410", "close 1007", "close 1009"]),
                    "answers: \(answers)")
            try await expectChannelsStillWork(service, port: port)
        }
    }

    // MARK: What counts as a documented answer

    static let descriptions = [400: ["Bad+request."], 401: ["Invalid+token.", "Token+timed+out."],
                               409: ["Replaced+by+another+connection."], 410: ["Channel+session+expired."]]

    /// Nil when `response` is one the protocol documents for some request.
    static func problem(with response: TestResponse, bodyBytes: Int) -> String? {
        if response.status == 413 { return bodyBytes > 8 * 1024 ? nil : "413 for a body of \(bodyBytes) bytes" }
        guard [200, 400, 401, 409, 410].contains(response.status) else { return "status \(response.status): \(response.text.prefix(200))" }
        guard response.headers["Content-Type"] == "application/json",
              let frames = try? JSONDecoder().decode([ChannelFrame].self, from: Data(response.body)) else {
            return "status \(response.status) without a JSON array of frames: \(response.text.prefix(200))"
        }
        if response.status == 200 {
            let unexpected = frames.filter { $0.type != "opened" && $0.type != "message" }
            return unexpected.isEmpty ? nil : "200 with \(unexpected)"
        }
        guard let last = frames.last, last.type == "error", last.code == response.status,
              let description = last.description, descriptions[response.status]?.contains(description) == true else {
            return "status \(response.status) with frames \(frames)"
        }
        return nil
    }

    struct Problem: Error { let text: String }

    /// What the server did with an open frame: opened (with the session), answered a ping, or
    /// closed as documented; named for the tally. Anything else, or silence, is the problem.
    static func outcome(of socket: ChannelSocket) async -> Result<(String, String?), Problem> {
        let first: ChannelFrame
        do {
            first = try await socket.next()
        } catch {
            return .failure(Problem(text: "no answer (\(error))"))
        }
        switch first.type {
        case "opened":
            socket.closeLikeTheJavaScriptClient()
            return .success(("opened", first.session))
        case "pong":
            return .success(("pong", nil))
        case "close":
            // {"type":"close"} (1000), a frame over 8 KiB (1009), text that is not UTF-8 (1007).
            guard let code = first.code, [1000, 1007, 1009].contains(code) else {
                return .failure(Problem(text: "closed with \(String(describing: first.code))"))
            }
            return .success(("close \(code)", nil))
        case "error":
            guard let code = first.code, let description = first.description, descriptions[code]?.contains(description) == true else {
                return .failure(Problem(text: "error frame \(first)"))
            }
            guard let close = try? await socket.next(), close.type == "close", close.code == 4000 + code else {
                return .failure(Problem(text: "error \(code) not followed by close \(4000 + code)"))
            }
            return .success(("error \(code)", nil))
        default:
            return .failure(Problem(text: "frame \(first)"))
        }
    }
}

/// Sends `bytes` as one request on a fresh connection and reads the answer (off the pool).
func rawRequest(port: Int, bytes: [UInt8]) async throws -> TestResponse {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue(label: "courier.channel-test.mutation").async {
            continuation.resume(with: Result {
                let client = try RawClient(port: port, timeoutSeconds: 5)
                guard client.send(bytes) else { throw RawClient.Failure.closed }
                return try client.readResponse()
            })
        }
    }
}

/// SplitMix64: small, seeded, reproducible.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Numbers and near-numbers as a client could type them into any field.
enum HostileText {
    static let numbers: [String] = [
        "", "0", "1", "2", "-1", "-0", "+1", "+0", "00001", "007", "18446744073709551615", "18446744073709551616",
        "18446744073709551614", "9223372036854775807", "9223372036854775808", "-9223372036854775809", "4294967296",
        "99999999999999999999999999", String(repeating: "9", count: 300), "1e3", "1E400", "0x10", "0X1F", " 1", "1 ", "\t1",
        "1.5", "1,5", "1_000", "１", "٣", "NaN", "Infinity", "-Infinity", "null", "true", "[]",
    ]

    static func number(using random: inout SeededRandom) -> String {
        if Int.random(in: 0..<4, using: &random) == 0 {
            return String((0..<Int.random(in: 1...25, using: &random)).map { _ in "0123456789".randomElement(using: &random)! })
        }
        return numbers.randomElement(using: &random)!
    }

    static func string(using random: inout SeededRandom) -> String {
        switch Int.random(in: 0..<6, using: &random) {
        case 0: return String(repeating: "x", count: Int.random(in: 100...3_000, using: &random))
        case 1: return ["%", "%%", "%G1", "%4", "%FF%FE", "%00", "%C3", "+", "&", "=", "&&==", "%2526"].randomElement(using: &random)!
        case 2: return "é😀\u{0}\u{7F}"
        default: return number(using: &random)
        }
    }
}

/// Long-poll requests: the four fields with hostile values, repeated, missing or mixed into
/// the query, then sometimes the body's bytes mutated.
struct PollMutator {
    struct Input {
        let client: Int
        let cid: String
        let request: [UInt8]
        let bodyBytes: Int
        let summary: String
    }

    var random: SeededRandom
    let tokens: [String]
    private var known: [Int: (cid: String, session: String)] = [:]
    /// Every cid that opened a connection, per client: an old one (replaced since) is 409.
    private var openedCIDs: [Int: [String]] = [:]
    private var cidCounter = 0

    init(random: SeededRandom, tokens: [String]) {
        self.random = random
        self.tokens = tokens
    }

    mutating func remember(client: Int, cid: String, session: String) {
        known[client] = (cid, session)
        openedCIDs[client, default: []].append(cid)
    }

    /// A valid poll (a new connection, or the client's current one), then one to four
    /// mutations: hostile values in fields, fields dropped, repeated, shuffled or put in the
    /// query, an oversized body, another content type, raw escapes, mutated bytes.
    mutating func make() -> Input {
        let client = Int.random(in: 0..<tokens.count, using: &random)
        var cid: String
        var session = ""
        if let known = known[client], chance(2) {
            (cid, session) = known
        } else {
            cidCounter += 1
            cid = "cid\(cidCounter)"
        }
        var fields: [(String, String)] = [("token", tokens[client]), ("cid", cid), ("seq", chance(2) ? "0" : ""), ("session", session)]
        var query = ""
        var contentType = "Content-Type: application/x-www-form-urlencoded\r\n"
        var raw = false
        var mutateBytes = false
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<12, using: &random) {
            case 0: Self.set("token", tokenValue(tokens[client]), in: &fields)
            case 1:
                cid = cidValue(client)
                Self.set("cid", cid, in: &fields)
            case 2, 3: Self.set("seq", HostileText.number(using: &random), in: &fields)
            case 4: Self.set("session", sessionValue(client), in: &fields)
            case 5: if !fields.isEmpty { fields.remove(at: Int.random(in: 0..<fields.count, using: &random)) }
            case 6:
                let name = ["token", "cid", "seq", "session", "x"].randomElement(using: &random)!
                fields.insert((name, HostileText.string(using: &random)), at: Int.random(in: 0...fields.count, using: &random))
            case 7:
                fields.shuffle(using: &random)
                if chance(8) { fields.append(("pad", String(repeating: "p", count: 8_200))) }
            case 8:
                let name = ["seq", "cid", "token", "session"].randomElement(using: &random)!
                query = "?\(name)=\(URLEncoding.encode(HostileText.string(using: &random)))"
            case 9:
                contentType = ["", "Content-Type: text/plain\r\n", "Content-Type: application/x-www-form-urlencoded; charset=utf-16\r\n"]
                    .randomElement(using: &random)!
            case 10: raw = true
            default: mutateBytes = true
            }
        }
        var body = Array(fields.map { name, value in raw ? "\(name)=\(value)" : "\(name)=\(URLEncoding.encode(value))" }
            .joined(separator: "&").utf8)
        if mutateBytes { Self.mutate(&body, using: &random) }
        let head = "POST /_ah/channel/poll\(query) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(contentType)Content-Length: \(body.count)\r\n\r\n"
        let summary = "query '\(query.prefix(60))' body '\(String(decoding: body.prefix(160), as: UTF8.self))'"
        return Input(client: client, cid: cid, request: Array(head.utf8) + body, bodyBytes: body.count, summary: summary)
    }

    private mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &random) == 0 }

    /// Gives the first field named `name` (if one is left) the value `value`.
    private static func set(_ name: String, _ value: String, in fields: inout [(String, String)]) {
        if let index = fields.firstIndex(where: { $0.0 == name }) { fields[index].1 = value }
    }

    private mutating func tokenValue(_ valid: String) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return tampered(valid)
        case 1: return reforged(valid) { bytes in for index in 1...8 { bytes[index] = 0xFF } }
        case 2: return String(valid.prefix(Int.random(in: 0..<valid.count, using: &random)))
        case 3: return HostileText.string(using: &random)
        case 4: return valid + "A"
        default: return valid
        }
    }

    private mutating func cidValue(_ client: Int) -> String {
        if let earlier = openedCIDs[client]?.randomElement(using: &random), chance(3) { return earlier }
        switch Int.random(in: 0..<8, using: &random) {
        case 0: return ""
        case 1: return String(repeating: "c", count: [64, 65, 3_000].randomElement(using: &random)!)
        case 2: return HostileText.string(using: &random)
        default:
            cidCounter += 1
            return "cid\(cidCounter)"
        }
    }

    private mutating func sessionValue(_ client: Int) -> String {
        if let known = known[client], chance(3) { return known.session }
        return chance(3) ? "" : HostileText.string(using: &random)
    }

    static func mutate(_ bytes: inout [UInt8], using random: inout SeededRandom) {
        guard !bytes.isEmpty else { return }
        let interesting: [UInt8] = [0x00, 0x25, 0x26, 0x3D, 0x2B, 0x2D, 0x30, 0x39, 0x7F, 0xFF, 0x0D, 0x0A]
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            guard !bytes.isEmpty else { return }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes[at] = interesting.randomElement(using: &random)!
            case 2: bytes.insert(interesting.randomElement(using: &random)!, at: at)
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...16, using: &random)))
            default:
                let end = min(bytes.count, at + Int.random(in: 1...64, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            }
        }
    }
}

/// WebSocket open frames: JSON with hostile `seq` values, wrong types, deep nesting and huge
/// strings, then sometimes mutated (ASCII only, so the frame stays text; now and then a byte
/// that is not UTF-8, which is 1007).
struct OpenFrameMutator {
    struct Input {
        let client: Int
        let bytes: [UInt8]
        let summary: String
    }

    var random: SeededRandom
    let tokens: [String]
    private var sessions: [Int: String] = [:]

    init(random: SeededRandom, tokens: [String]) {
        self.random = random
        self.tokens = tokens
    }

    mutating func remember(client: Int, session: String) { sessions[client] = session }

    static let seqValues = ["0", "1", "-1", "-0", "18446744073709551615", "18446744073709551616", "9223372036854775808",
                            "1e30", "1E400", "1.5", "1.0", "1e2", "0.0", "\"5\"", "\"\"", "null", "true", "[]", "{}", "[0]",
                            String(repeating: "9", count: 500), "+1", "01", "0x10", "NaN", "-", "1."]

    mutating func make() -> Input {
        let client = Int.random(in: 0..<tokens.count, using: &random)
        var members: [String] = []
        if !chance(10) {
            members.append("\"type\":" + (chance(8) ? ["\"ping\"", "\"close\"", "\"OPEN\"", "\"\"", "1", "null", "[]"].randomElement(using: &random)! : "\"open\""))
        }
        if !chance(10) { members.append("\"token\":" + tokenValue(tokens[client])) }
        if !chance(5) {
            let session = sessions[client].map { "\"\($0)\"" } ?? "\"\""
            members.append("\"session\":" + (chance(4) ? ["\"x\"", "18446744073709551616", "[]", "null", "\"\(String(repeating: "s", count: 2_000))\""]
                .randomElement(using: &random)! : session))
        }
        if !chance(6) { members.append("\"seq\":" + Self.seqValues.randomElement(using: &random)!) }
        if chance(6) { members.append("\"seq\":" + Self.seqValues.randomElement(using: &random)!) }
        if chance(8) {
            let depth = Int.random(in: 10...2_000, using: &random)
            members.append("\"x\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        }
        if chance(20) { members.append("\"pad\":\"\(String(repeating: "p", count: 8_300))\"") }
        members.shuffle(using: &random)
        var bytes = Array(("{" + members.joined(separator: ",") + "}").utf8)
        if chance(4) { Self.mutateASCII(&bytes, using: &random) }
        if chance(25) { bytes.insert(0xFF, at: Int.random(in: 0...bytes.count, using: &random)) }
        return Input(client: client, bytes: bytes, summary: "'\(String(decoding: bytes.prefix(200), as: UTF8.self))' (\(bytes.count) bytes)")
    }

    private mutating func chance(_ oneIn: Int) -> Bool { Int.random(in: 0..<oneIn, using: &random) == 0 }

    private mutating func tokenValue(_ valid: String) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return "\"\(tampered(valid))\""
        case 1: return "\"\(reforged(valid) { bytes in bytes[1] = 0x80 })\""
        case 2: return ["5", "null", "[]", "{}", "18446744073709551616", "\"\""].randomElement(using: &random)!
        case 3: return "\"\(String(repeating: "A", count: Int.random(in: 1_000...7_000, using: &random)))\""
        default: return "\"\(valid)\""
        }
    }

    static func mutateASCII(_ bytes: inout [UInt8], using random: inout SeededRandom) {
        let interesting = Array("{}[]\":,-+.eE0129 \\n".utf8)
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            guard !bytes.isEmpty else { return }
            let at = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0: bytes[at] = interesting.randomElement(using: &random)!
            case 1: bytes.insert(interesting.randomElement(using: &random)!, at: at)
            case 2: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &random)))
            case 3: bytes.removeSubrange(at...)
            default:
                let end = min(bytes.count, at + Int.random(in: 1...32, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            }
        }
    }
}
