import CourierHTTP
import Foundation

/// One request in the terms both parsers can be held to: what an application would be handed.
struct ComparedRequest: Equatable, CustomStringConvertible {
    var method: String
    var target: String
    var version: String
    var fields: [HTTPHeaders.Field]
    var keepAlive: Bool
    var complete: Bool
    var body: [UInt8]

    var description: String {
        let fieldText = fields.map { "\($0.name): \($0.value)" }.joined(separator: " | ")
        return "\(method) \(target) HTTP/\(version) [\(fieldText)] keepAlive=\(keepAlive) "
            + (complete ? "body=\"\(body.escaped(limit: 80))\"" : "incomplete")
    }
}

/// Where a parser stopped on an input, and the requests it delivered on the way.
struct ComparedOutcome: CustomStringConvertible {
    enum Decision: String {
        case complete, incomplete, reject, upgrade
    }

    var decision: Decision
    /// Courier's status and reason, or llhttp's error code, reason and offset.
    var detail: String?
    /// Courier's refusal status (nil for llhttp, which has none, and for no refusal).
    var status: Int?
    var requests: [ComparedRequest]

    var description: String {
        let head = "\(decision.rawValue)\(detail.map { " (\($0))" } ?? ""), \(requests.count) request(s)"
        return ([head] + requests.enumerated().map { "    \($0.offset + 1). \($0.element)" }).joined(separator: "\n")
    }
}

extension ComparedOutcome {
    /// Courier's outcome. After a request llhttp treated as switching protocols (CONNECT,
    /// Upgrade), the rest of the input is not HTTP: the server hands it to the new protocol (or a
    /// tunnel), so only the requests up to that one are compared.
    init(courier outcome: ParseOutcome, upgradeAfter: Int?) {
        let requests = outcome.requests.map(ComparedRequest.init(courier:))
        status = outcome.error?.status.code
        detail = outcome.error.map(String.init(describing:))
        if let upgradeAfter, upgradeAfter > 0, requests.count >= upgradeAfter, requests[upgradeAfter - 1].complete {
            decision = .upgrade
            self.requests = Array(requests.prefix(upgradeAfter))
            status = nil
            detail = nil
            return
        }
        self.requests = requests
        if outcome.error != nil {
            decision = .reject
        } else if requests.allSatisfy(\.complete), outcome.unconsumedBytes == 0, outcome.parserIsIdle {
            decision = .complete
        } else {
            decision = .incomplete
        }
    }

    /// llhttp's outcome, in Courier's terms (see `ComparedRequest.init(llhttp:)`).
    init(llhttp outcome: LLHTTPDecisions.Outcome) {
        switch outcome.decision {
        case .complete: decision = .complete
        case .incomplete: decision = .incomplete
        case .reject: decision = .reject
        case .upgrade: decision = .upgrade
        }
        detail = outcome.error.map { "\($0.code): \($0.reason) at byte \($0.offset)" }
        status = nil
        requests = outcome.requests.map(ComparedRequest.init(llhttp:))
    }
}

extension ComparedRequest {
    init(courier request: ParsedRequest) {
        method = request.method
        target = request.target
        version = "\(request.version.major).\(request.version.minor)"
        fields = request.fields
        keepAlive = HTTPRequestHead(method: HTTPMethod(request.method), target: request.target, version: request.version,
                                    headers: HTTPHeaders(request.fields.map { ($0.name, $0.value) })).wantsKeepAlive
        complete = request.ended
        body = request.body
    }

    /// Node's one-byte strings turned back into bytes and decoded as UTF-8, as Courier decodes
    /// names and values; an absolute-form http(s) target reduced to its path and query, as
    /// Courier hands it to the application (RFC 9112 §3.2.2).
    init(llhttp request: LLHTTPDecisions.Request) {
        method = request.method
        target = Self.originForm(Self.utf8(request.target))
        version = request.version
        fields = request.headers.map { HTTPHeaders.Field(name: Self.utf8($0.first ?? ""), value: Self.utf8($0.last ?? "")) }
        keepAlive = request.keepAlive
        complete = request.complete
        body = Array(Data(base64Encoded: request.body) ?? Data())
    }

    private static func utf8(_ oneByteString: String) -> String {
        String(decoding: oneByteString.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }, as: UTF8.self)
    }

    private static func originForm(_ target: String) -> String {
        let lowered = target.lowercased()
        for scheme in ["http://", "https://"] where lowered.hasPrefix(scheme) {
            let rest = target.dropFirst(scheme.count)
            let pathAndQuery = rest[(rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex)...]
            return pathAndQuery.first == "/" ? String(pathAndQuery) : "/" + pathAndQuery
        }
        return target
    }
}

/// Every way Courier's outcome differs from llhttp's, each a line for the failure message; none
/// when they agree. With `courierStoppedAtLimit` (Courier refused at one of its size limits,
/// which llhttp does not have) only the heads Courier delivered before its refusal are compared.
func differences(courier: ComparedOutcome, llhttp: ComparedOutcome, courierStoppedAtLimit: Bool = false) -> [String] {
    var found: [String] = []
    if !courierStoppedAtLimit {
        if courier.decision != llhttp.decision {
            found.append("decision: Courier \(courier.decision.rawValue), llhttp \(llhttp.decision.rawValue)")
        }
        if courier.requests.count != llhttp.requests.count {
            found.append("requests: Courier \(courier.requests.count), llhttp \(llhttp.requests.count)")
        }
    } else if courier.requests.count > llhttp.requests.count {
        found.append("requests: Courier \(courier.requests.count) before its limit, llhttp \(llhttp.requests.count)")
    }
    for (index, (mine, theirs)) in zip(courier.requests, llhttp.requests).enumerated() {
        let label = "request \(index + 1)"
        if mine.method != theirs.method { found.append("\(label) method: Courier \(mine.method), llhttp \(theirs.method)") }
        if mine.target != theirs.target { found.append("\(label) target: Courier \(mine.target), llhttp \(theirs.target)") }
        if mine.version != theirs.version { found.append("\(label) version: Courier \(mine.version), llhttp \(theirs.version)") }
        if mine.fields != theirs.fields {
            found.append("\(label) fields: Courier \(mine.fields.map { [$0.name, $0.value] }), llhttp \(theirs.fields.map { [$0.name, $0.value] })")
        }
        if mine.keepAlive != theirs.keepAlive { found.append("\(label) keep-alive: Courier \(mine.keepAlive), llhttp \(theirs.keepAlive)") }
        let isLastBeforeLimit = courierStoppedAtLimit && index == courier.requests.count - 1
        guard !isLastBeforeLimit else { continue }
        if mine.complete != theirs.complete { found.append("\(label) complete: Courier \(mine.complete), llhttp \(theirs.complete)") }
        if mine.complete, theirs.complete, mine.body != theirs.body {
            found.append("\(label) body: Courier \"\(mine.body.escaped(limit: 80))\", llhttp \"\(theirs.body.escaped(limit: 80))\"")
        }
    }
    return found
}
