import CourierHTTP
import FuzzSupport

/// HTTPRequestParser fed arbitrary bytes, once whole and once in pieces (the split chosen by the
/// input's first bytes), the way HTTPConnection feeds it: unconsumed bytes offered again with
/// the next read appended. Invariants: `consumed` within the input; every call makes progress
/// or waits; events well-formed (a head, then body bytes totalling its Content-Length, then one
/// end); a parsed head re-serialized parses to itself; and whole and split give the same
/// requests and the same refusal status.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let limits = parserLimits(input.choice(4))
    let lengths = input.splitLengths()
    let payload = input.rest()

    var whole = Feeder(limits: limits)
    whole.feed(payload[...])
    var split = Feeder(limits: limits)
    for piece in splitPieces(payload, lengths: lengths) where split.outcome.failure == nil { split.feed(piece) }

    invariant(whole.outcome.requests == split.outcome.requests,
              "whole and split parse differ:\n\(whole.outcome.requests)\n\(split.outcome.requests)")
    // The reason may name a different limit (the field count before the byte count), never a different status.
    invariant(whole.outcome.failure?.status.code == split.outcome.failure?.status.code,
              "whole and split refusals differ: \(String(describing: whole.outcome.failure)) vs \(String(describing: split.outcome.failure))")
    if whole.outcome.failure == nil {
        invariant(whole.pending == split.pending, "whole and split leave different bytes unconsumed")
    }
    for request in whole.outcome.requests { checkReparse(request, limits: limits) }
    return 0
}

/// The defaults, and small limits so that every limit is reached by short inputs.
private func parserLimits(_ choice: Int) -> HTTPRequestParser.Limits {
    switch choice {
    case 0: HTTPRequestParser.Limits()
    case 1: HTTPRequestParser.Limits(maxRequestLineBytes: 32, maxHeaderBytes: 64, maxHeaderCount: 3)
    case 2: HTTPRequestParser.Limits(maxRequestLineBytes: 16, maxHeaderBytes: 200, maxHeaderCount: 100)
    default: HTTPRequestParser.Limits(maxRequestLineBytes: 200, maxHeaderBytes: 16, maxHeaderCount: 1)
    }
}

/// One request as the application would see it.
struct ParsedRequest: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: HTTPVersion
    var fields: [HTTPHeaders.Field]
    var framing: HTTPRequestParser.BodyFraming
    var body: [UInt8] = []
    var ended = false

    var description: String { "\(method) \(target) \(version) \(fields.map { "\($0.name): \($0.value)" }) \(framing) body=\(body.count) ended=\(ended)" }
}

struct Outcome {
    var requests: [ParsedRequest] = []
    var failure: HTTPParseError?
}

/// Drives a parser as HTTPConnection does, checking every step.
struct Feeder {
    var parser: HTTPRequestParser
    var pending: [UInt8] = []
    var outcome = Outcome()

    init(limits: HTTPRequestParser.Limits) { parser = HTTPRequestParser(limits: limits) }

    mutating func feed(_ bytes: ArraySlice<UInt8>) {
        guard outcome.failure == nil else { return }
        pending.append(contentsOf: bytes)
        // Events that consume nothing: `.end` (once per request). Two in a row means no progress.
        var idleSteps = 0
        while true {
            let input = pending
            let step: Result<(Int, Event?), HTTPParseError> = input.withUnsafeBytes { raw in
                do throws(HTTPParseError) {
                    let (consumed, event) = try parser.next(raw)
                    invariant(consumed >= 0 && consumed <= raw.count, "consumed \(consumed) of \(raw.count) bytes")
                    return .success((consumed, event.map { Event($0) }))
                } catch {
                    return .failure(error)
                }
            }
            switch step {
            case .failure(let error):
                outcome.failure = error
                return
            case .success(let (consumed, event)):
                pending.removeFirst(consumed)
                guard let event else {
                    if consumed == 0 {
                        checkStillWaiting()
                        return
                    }
                    idleSteps = 0
                    continue
                }
                idleSteps = consumed == 0 ? idleSteps + 1 : 0
                invariant(idleSteps < 2, "two events in a row without consuming input")
                record(event)
            }
        }
    }

    /// Waiting: offering the same bytes again must wait again, not change its mind.
    private mutating func checkStillWaiting() {
        let input = pending
        input.withUnsafeBytes { raw in
            do throws(HTTPParseError) {
                let (consumed, event) = try parser.next(raw)
                invariant(consumed == 0 && event == nil, "a waiting parser went on with no new input")
            } catch {
                invariant(false, "a waiting parser failed with no new input: \(error)")
            }
        }
    }

    private mutating func record(_ event: Event) {
        let last = outcome.requests.indices.last
        switch event {
        case .head(let head, let framing):
            invariant(last == nil || outcome.requests[last!].ended, "a head before the previous request ended")
            checkHead(head)
            outcome.requests.append(ParsedRequest(method: head.method.rawValue, target: head.target, version: head.version,
                                                  fields: head.headers.fields, framing: framing))
        case .body(let bytes):
            guard let last, !outcome.requests[last].ended else { return invariant(false, "body bytes outside a request") }
            invariant(!bytes.isEmpty, "an empty body event")
            let request = outcome.requests[last]
            switch request.framing {
            case .none: invariant(false, "body bytes for a request without a body")
            case .length(let length): invariant(request.body.count + bytes.count <= length, "more body than Content-Length")
            case .chunked: break
            }
            outcome.requests[last].body += bytes
        case .end:
            guard let last, !outcome.requests[last].ended else { return invariant(false, "an end outside a request") }
            if case .length(let length) = outcome.requests[last].framing {
                invariant(outcome.requests[last].body.count == length, "body of \(outcome.requests[last].body.count) bytes, Content-Length \(length)")
            }
            outcome.requests[last].ended = true
            invariant(parser.isIdle, "the parser is not idle after a request ended")
        }
    }
}

/// An event with its body copied (the parser's body slices its input).
enum Event {
    case head(HTTPRequestHead, HTTPRequestParser.BodyFraming)
    case body([UInt8])
    case end

    init(_ event: HTTPRequestParser.Event) {
        switch event {
        case .head(let head, let framing): self = .head(head, framing)
        case .body(let bytes): self = .body(Array(bytes))
        case .end: self = .end
        }
    }
}

/// What every accepted head promises the layers above it.
private func checkHead(_ head: HTTPRequestHead) {
    let target = Array(head.target.utf8)
    invariant(!target.isEmpty, "empty target")
    if head.method != .connect {
        invariant(target.first == UInt8(ascii: "/") || (head.method == .options && head.target == "*"),
                  "target '\(head.target)' is not origin-form")
    }
    invariant(!target.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "#") }), "target '\(head.target)' holds a forbidden byte")
    invariant(head.version.major == 1, "version \(head.version)")
    // The parser's split of the target agrees with a fresh scan.
    let fresh = RequestTarget(head.target)
    invariant(head.path == fresh.path && head.query == fresh.query && head.split.pathHasEscapes == fresh.pathHasEscapes,
              "the parser split '\(head.target)' differently from RequestTarget")
    invariant(String(head.path) + (head.target.utf8.contains(UInt8(ascii: "?")) ? "?" + head.query : "") == head.target,
              "path and query do not make the target")
    for field in head.headers {
        invariant(!field.name.isEmpty && field.name.utf8.allSatisfy(isTokenByte), "field name '\(field.name)'")
        invariant(!field.value.utf8.contains(where: { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }), "control byte in '\(field.value)'")
        invariant(field.value.utf8.first != 0x20 && field.value.utf8.first != 0x09 && field.value.utf8.last != 0x20
                  && field.value.utf8.last != 0x09, "value '\(field.value)' not trimmed")
    }
    _ = head.wantsKeepAlive
    _ = head.expectsContinue
}

/// A head written out again (origin-form target, fields as parsed) parses to the same head.
private func checkReparse(_ request: ParsedRequest, limits: HTTPRequestParser.Limits) {
    var text = "\(request.method) \(request.target) \(request.version)\r\n"
    for field in request.fields { text += "\(field.name): \(field.value)\r\n" }
    text += "\r\n"
    var again = Feeder(limits: HTTPRequestParser.Limits(maxRequestLineBytes: .max / 4, maxHeaderBytes: .max / 4, maxHeaderCount: .max))
    again.feed(Array(text.utf8)[...])
    invariant(again.outcome.failure == nil, "the head written out again was refused: \(String(describing: again.outcome.failure))\n\(text)")
    guard let first = again.outcome.requests.first else { return invariant(false, "the head written out again did not parse\n\(text)") }
    invariant(first.method == request.method && first.target == request.target && first.version == request.version
              && first.fields == request.fields && first.framing == request.framing, "reparse differs: \(first) vs \(request)")
}

private func isTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
    case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E, 0x5F, 0x60, 0x7C, 0x7E: true
    default: false
    }
}
