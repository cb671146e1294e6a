import CourierHTTP
import Testing

/// One request as a user of the parser sees it: its head, its framing, every body byte in
/// order, and whether the parser reported its end.
struct ParsedRequest: Equatable {
    var method: String
    var target: String
    var version: HTTPVersion
    var fields: [HTTPHeaders.Field]
    var framing: HTTPRequestParser.BodyFraming
    var body: [UInt8] = []
    var ended = false

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Everything the parser produced for some input: the requests (the last may be incomplete),
/// the error that stopped it, and how many bytes it left unconsumed awaiting more input.
struct ParseOutcome: Equatable {
    var requests: [ParsedRequest] = []
    var error: HTTPParseError?
    var unconsumedBytes = 0
    var parserIsIdle = true

    var status: Int? { error?.status.code }
}

/// Drives an `HTTPRequestParser` the way a connection does: offer every byte not yet consumed,
/// with new bytes appended, and call `next` until it neither consumes nor reports anything.
struct ParserFeeder {
    private var parser: HTTPRequestParser
    private var pending: [UInt8] = []
    private(set) var outcome = ParseOutcome()

    init(limits: HTTPRequestParser.Limits = .init()) {
        parser = HTTPRequestParser(limits: limits)
    }

    mutating func feed(_ bytes: some Sequence<UInt8>) {
        guard outcome.error == nil else { return }
        pending.append(contentsOf: bytes)
        var calls = 0
        while true {
            calls += 1
            guard calls < 1_000_000 else {
                Issue.record("the parser keeps returning without consuming input")
                break
            }
            let input = pending
            let result = input.withUnsafeBytes { bytes -> Result<(consumed: Int, event: ParserEvent?), HTTPParseError> in
                do throws(HTTPParseError) {
                    let step = try parser.next(bytes)
                    if step.consumed < 0 || step.consumed > bytes.count {
                        Issue.record("consumed \(step.consumed) of \(bytes.count) bytes")
                    }
                    return .success((step.consumed, step.event.map(ParserEvent.init)))
                } catch {
                    return .failure(error)
                }
            }
            guard case .success(let step) = result else {
                if case .failure(let error) = result { outcome.error = error }
                break
            }
            pending.removeFirst(step.consumed)
            if let event = step.event { record(event) } else if step.consumed == 0 { break }
        }
        outcome.unconsumedBytes = pending.count
        outcome.parserIsIdle = parser.isIdle
    }

    private mutating func record(_ event: ParserEvent) {
        switch event {
        case .head(let request):
            outcome.requests.append(request)
        case .body(let bytes):
            guard let last = outcome.requests.indices.last, !outcome.requests[last].ended else {
                Issue.record("body bytes outside a request")
                return
            }
            outcome.requests[outcome.requests.count - 1].body += bytes
        case .end:
            guard let last = outcome.requests.indices.last, !outcome.requests[last].ended else {
                Issue.record("end outside a request")
                return
            }
            outcome.requests[outcome.requests.count - 1].ended = true
        }
    }
}

/// A parser event copied out of the input buffer, so it outlives the call.
private enum ParserEvent {
    case head(ParsedRequest)
    case body([UInt8])
    case end

    init(_ event: HTTPRequestParser.Event) {
        switch event {
        case .head(let head, let framing):
            self = .head(ParsedRequest(method: head.method.rawValue, target: head.target, version: head.version,
                                       fields: head.headers.fields, framing: framing))
        case .body(let bytes):
            if bytes.isEmpty { Issue.record("an empty body event") }
            self = .body(Array(bytes))
        case .end:
            self = .end
        }
    }
}

/// Parses `bytes` offered all at once.
func parse(_ bytes: [UInt8], limits: HTTPRequestParser.Limits = .init()) -> ParseOutcome {
    var feeder = ParserFeeder(limits: limits)
    feeder.feed(bytes)
    return feeder.outcome
}

func parse(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> ParseOutcome {
    parse(Array(text.utf8), limits: limits)
}

/// Parses `bytes` arriving `step` bytes at a time.
func parseIncrementally(_ bytes: [UInt8], step: Int = 1, limits: HTTPRequestParser.Limits = .init()) -> ParseOutcome {
    var feeder = ParserFeeder(limits: limits)
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + step, bytes.count)
        feeder.feed(bytes[offset..<end])
        offset = end
    }
    return feeder.outcome
}

/// Parses `bytes` arriving as two reads split at `index`.
func parse(_ bytes: [UInt8], splitAt index: Int, limits: HTTPRequestParser.Limits = .init()) -> ParseOutcome {
    var feeder = ParserFeeder(limits: limits)
    feeder.feed(bytes[..<index])
    feeder.feed(bytes[index...])
    return feeder.outcome
}

/// "GET / HTTP/1.1" style request text with CRLF line endings: `lines` joined, then the empty
/// line, then `body`.
func request(_ lines: String..., body: String = "") -> [UInt8] {
    Array((lines.map { $0 + "\r\n" }.joined() + "\r\n" + body).utf8)
}
