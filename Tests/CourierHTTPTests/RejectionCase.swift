import CourierHTTP
import Testing

/// A request the parser must refuse, and the status it must refuse it with.
struct RejectionCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let status: Int

    init(_ name: String, _ text: String, _ status: Int = 400) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.status = status
    }

    init(_ name: String, bytes: [UInt8], _ status: Int = 400) {
        self.name = name
        self.bytes = bytes
        self.status = status
    }

    var testDescription: String { name }
}

/// Checks that `bytes` is refused with `status` whether it arrives at once or byte by byte, and
/// that no request from it reached the caller.
func expectRejection(_ bytes: [UInt8], status: Int, limits: HTTPRequestParser.Limits = .init(),
                     sourceLocation: SourceLocation = #_sourceLocation) {
    let whole = parse(bytes, limits: limits)
    #expect(whole.status == status, "all at once: \(whole.error.map(String.init(describing:)) ?? "accepted")",
            sourceLocation: sourceLocation)
    #expect(whole.requests.isEmpty, "no head may be delivered", sourceLocation: sourceLocation)
    let incremental = parseIncrementally(bytes, step: 1, limits: limits)
    #expect(incremental.status == status, "byte at a time: \(incremental.error.map(String.init(describing:)) ?? "accepted")",
            sourceLocation: sourceLocation)
    #expect(incremental.requests.isEmpty, "no head may be delivered", sourceLocation: sourceLocation)
}
