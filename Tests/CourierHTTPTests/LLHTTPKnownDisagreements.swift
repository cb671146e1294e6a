/// Where Courier's parser and llhttp read the same bytes differently, and why Courier's reading
/// is the one RFC 9110/9112 asks for. Every corpus input that disagrees is listed in
/// `LLHTTPKnownDisagreements.inputs` with its class, except refusals at Courier's size limits
/// (one rule, `isCourierLimit`); the test fails on a disagreement not listed, on a listed input
/// that now agrees, and on one whose Courier side is no longer what its class says.
enum KnownDisagreement: String, CaseIterable {
    case hostRequired
    case repeatedContentLength
    case unregisteredMethod
    case higherMinorVersion
    case unsupportedMajorVersion
    case requestLineWithoutVersion
    case repeatedSpaceInRequestLine
    case targetForm
    case transferEncodingInHTTP10
    case unsupportedTransferCoding
    case emptyTransferEncoding
    case chunkedNotFinal
    case connectWithContent
    case upgradeAfterBody
    case trailersDiscarded
    case connectionTokenWhitespace
    case closeOutranksKeepAlive
    case proxyConnectionIgnored
    case chunkExtensionWhitespace
    case bareLineEndBeforeRequestLine
    case lengthBeyondBounds
    case requestsAfterClose
    case headJudgedWhenComplete

    /// Why Courier is right, with the section that says so.
    var reason: String {
        switch self {
        case .hostRequired:
            "RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host, with more than one, or with an invalid one; llhttp leaves Host to Node's server"
        case .repeatedContentLength:
            "RFC 9110 §8.6: a recipient MAY take repeated identical Content-Length values (fields or a list) as one; they frame the body one way only, where llhttp refuses any repeat"
        case .unregisteredMethod:
            "RFC 9110 §9.1: a method is any case-sensitive token and an unknown one is the router's to answer (405/501); llhttp knows only a fixed list of upper-case names"
        case .higherMinorVersion:
            "RFC 9110 §2.5: a recipient SHOULD process HTTP/1.x with a higher minor version as the highest 1.x it implements; llhttp refuses HTTP/1.2"
        case .unsupportedMajorVersion:
            "RFC 9110 §15.6.6: 505 for a major version the server does not support (Courier serves HTTP/1.x only); llhttp reads HTTP/0.9 and HTTP/2.0 request lines"
        case .requestLineWithoutVersion:
            "RFC 9112 §3: request-line = method SP request-target SP HTTP-version, and an invalid request-line gets 400; llhttp takes a line without a version as HTTP/0.9"
        case .repeatedSpaceInRequestLine:
            "RFC 9112 §3: exactly one SP between method, target and version (splitting on runs of whitespace is only a MAY, §3 and §11.2 warn it invites smuggling); llhttp skips extra spaces"
        case .targetForm:
            "RFC 9112 §3.2: no fragment in a request target, the asterisk-form only with OPTIONS (§3.2.4), absolute-form only for http(s) at an origin server (§3.2.2); llhttp's URL parser takes them all"
        case .transferEncodingInHTTP10:
            "RFC 9112 §6.1: a server that receives an HTTP/1.0 message with Transfer-Encoding MUST treat its framing as faulty; Courier refuses it, llhttp decodes it as chunked"
        case .unsupportedTransferCoding:
            "RFC 9112 §6.1: a server SHOULD answer 501 to a transfer coding it does not implement (Courier decodes only chunked); llhttp passes the other codings through undecoded"
        case .emptyTransferEncoding:
            "RFC 9112 §6.1: Transfer-Encoding lists codings and an empty one frames nothing, so 400; llhttp reads the request as bodiless and its body as the next request (a smuggling shape)"
        case .chunkedNotFinal:
            "RFC 9112 §6.3 (4): a request whose final transfer coding is not chunked MUST get 400 and no request is handled; llhttp hands the head over (on_headers_complete) before checking Transfer-Encoding, then fails"
        case .connectWithContent:
            "RFC 9110 §9.3.6: a CONNECT request has no content and llhttp takes what follows its head as tunnel data, so a length or coding on one frames the bytes two ways: 400"
        case .upgradeAfterBody:
            "RFC 9110 §7.8: protocols switch after the 101 response, so a request's own framed content is read as HTTP first; llhttp hands over to the new protocol where the body stops parsing"
        case .trailersDiscarded:
            "RFC 9112 §7.1.2 and RFC 9110 §6.5.1: a recipient MAY discard trailer fields and MUST NOT merge framing ones into the head; Courier checks their syntax and drops them, llhttp refuses a Transfer-Encoding trailer"
        case .connectionTokenWhitespace:
            "RFC 9110 §5.6.1 and §7.6.1: OWS (SP or HTAB) around list members is not part of them, so `close<HTAB>` is close; llhttp's token match misses it and keeps the connection"
        case .closeOutranksKeepAlive:
            "RFC 9112 §9.6: a server that receives the close connection option MUST close after its response, whatever else the list holds; llhttp lets keep-alive win in HTTP/1.0"
        case .proxyConnectionIgnored:
            "RFC 9110 §7.6.1: connection options travel in Connection only; Proxy-Connection is a pre-standard field (RFC 7230 A.1.2) that llhttp still reads as Connection"
        case .chunkExtensionWhitespace:
            "RFC 9112 §7.1.1: chunk-ext = *( BWS \";\" BWS chunk-ext-name ... ), so whitespace before \";\" is allowed; llhttp refuses it"
        case .bareLineEndBeforeRequestLine:
            "RFC 9112 §2.2: the empty lines a server SHOULD skip before a request line are CRLF, and a lone LF is a line end only under a MAY Courier never takes; llhttp also skips a lone CR or LF there"
        case .lengthBeyondBounds:
            "RFC 9112 §7.1 and RFC 9110 §8.6: a recipient MUST guard against overflow in lengths; Courier refuses a Content-Length or chunk size past Int and a chunk line past 4 KiB (400), llhttp counts to 2^64 and has no line cap"
        case .requestsAfterClose:
            "RFC 9112 §9.6: after a request with Connection: close (or HTTP/1.0 without keep-alive) the server processes no further request; HTTP1ConnectionStateMachine stops there (KeepAliveTests), so the parser reads on, llhttp refuses the data"
        case .headJudgedWhenComplete:
            "RFC 9112 §2.2 and §5 judge whole lines and heads: Courier checks the head when its empty line arrives, its 8/16 KiB limits (414/431) and the header timeout (408) bound the wait; llhttp fails at the first bad byte"
        }
    }

    /// What Courier does with such an input: what the test checks each listed input still does.
    var courierSide: CourierSide {
        switch self {
        case .hostRequired, .requestLineWithoutVersion, .repeatedSpaceInRequestLine, .targetForm, .transferEncodingInHTTP10,
             .emptyTransferEncoding, .chunkedNotFinal, .connectWithContent, .bareLineEndBeforeRequestLine, .lengthBeyondBounds:
            .rejects(status: 400)
        case .unsupportedMajorVersion: .rejects(status: 505)
        case .unsupportedTransferCoding: .rejects(status: 501)
        case .repeatedContentLength, .unregisteredMethod, .higherMinorVersion, .chunkExtensionWhitespace, .trailersDiscarded,
             .connectionTokenWhitespace, .closeOutranksKeepAlive, .proxyConnectionIgnored:
            .accepts
        case .requestsAfterClose: .readsOnAfterClose
        case .headJudgedWhenComplete, .upgradeAfterBody: .waitsForMore
        }
    }
}

/// Courier's side of a disagreement.
enum CourierSide: Equatable, CustomStringConvertible {
    /// Refuses the input with this status.
    case rejects(status: Int)
    /// Reads the input through, every request complete.
    case accepts
    /// Delivers more requests than llhttp (which stopped at data after a close).
    case readsOnAfterClose
    /// Refuses nothing yet: the head, or the chunk line, in progress has not ended.
    case waitsForMore

    func describes(courier: ComparedOutcome, llhttp: ComparedOutcome) -> Bool {
        switch self {
        case .rejects(let status): courier.decision == .reject && courier.status == status
        case .accepts: courier.decision == .complete || courier.decision == .upgrade
        case .readsOnAfterClose: courier.decision != .reject && courier.requests.count > llhttp.requests.count
        case .waitsForMore: courier.decision == .incomplete
        }
    }

    var description: String {
        switch self {
        case .rejects(let status): "rejects with \(status)"
        case .accepts: "accepts"
        case .readsOnAfterClose: "reads requests after a close"
        case .waitsForMore: "waits for more input"
        }
    }
}

enum LLHTTPKnownDisagreements {
    /// Courier's size limits (request line 414, header section and field count 431, body 413),
    /// which llhttp, driven with an unreachable header limit, does not have: one rule rather than
    /// a line per input. The fuzz corpus reaches them with its small limits (choices 1 to 3).
    static let limitRule = "Courier's configured size limits answer 413/414/431 (RFC 9110 §15.5.14, RFC 6585 §5, RFC 9110 §15.5.15); llhttp has no such limits, so only the heads Courier delivered before its refusal are compared"

    static func isCourierLimit(_ outcome: ComparedOutcome) -> Bool {
        outcome.decision == .reject && [413, 414, 431].contains(outcome.status ?? 0)
    }

    /// Every corpus input on which the two parsers differ, and why.
    static let inputs: [String: KnownDisagreement] = [
        "host-missing": .hostRequired,
        "host-twice": .hostRequired,
        "host-invalid": .hostRequired,
        "host-userinfo": .hostRequired,
        "cl-duplicate-same": .repeatedContentLength,
        "cl-list-same": .repeatedContentLength,
        "method-lowercase": .unregisteredMethod,
        "method-unknown-token": .unregisteredMethod,
        "version-1-2": .higherMinorVersion,
        "version-2-0": .unsupportedMajorVersion,
        "version-0-9": .unsupportedMajorVersion,
        "http09-request": .requestLineWithoutVersion,
        "request-line-no-version": .requestLineWithoutVersion,
        "request-line-two-spaces": .repeatedSpaceInRequestLine,
        "target-fragment": .targetForm,
        "target-asterisk-get": .targetForm,
        "target-other-scheme": .targetForm,
        "te-http10": .transferEncodingInHTTP10,
        "te-identity-chunked": .unsupportedTransferCoding,
        "big-chunk": .unsupportedTransferCoding,
        "te-gzip-then-chunked-fields": .unsupportedTransferCoding,
        "te-empty": .emptyTransferEncoding,
        "te-gzip": .chunkedNotFinal,
        "te-identity": .chunkedNotFinal,
        "te-xchunked": .chunkedNotFinal,
        "te-chunked-parameter": .chunkedNotFinal,
        "connect-with-length": .connectWithContent,
        "connect-chunked": .connectWithContent,
        "upgrade-chunked-then-frames": .upgradeAfterBody,
        "chunk-trailer-framing-fields": .trailersDiscarded,
        "connection-close-trailing-tab": .connectionTokenWhitespace,
        "connection-http10-close-and-keep-alive": .closeOutranksKeepAlive,
        "proxy-connection-close": .proxyConnectionIgnored,
        "te-empty-field-and-chunked": .emptyTransferEncoding,
        "te-empty-field-and-length": .emptyTransferEncoding,
        "chunk-ext-space-before": .chunkExtensionWhitespace,
        "leading-bare-lf": .bareLineEndBeforeRequestLine,
        "leading-bare-cr": .bareLineEndBeforeRequestLine,
        "bare-cr-unfinished-head": .headJudgedWhenComplete,
        "cl-beyond-int": .lengthBeyondBounds,
        "chunk-size-16-digits": .lengthBeyondBounds,
        "chunk-ext-long": .lengthBeyondBounds,
        "pipelined": .requestsAfterClose,
        "pipelined-after-close": .requestsAfterClose,
        "pipelined-after-http10": .requestsAfterClose,
        "pipelined-then-garbage": .headJudgedWhenComplete,
    ]
}
