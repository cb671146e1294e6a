import Courier
import CourierTesting

/// Every feature a client can see is checked both ways: through the responder with no
/// sockets, and through a real server on loopback.
let bothModes: [TestMode] = [.inProcess, .live]

extension TestResponse {
    /// A comma-separated header (Allow) as a set of its tokens.
    func tokens(_ name: String) -> Set<String> {
        Set((headers[name] ?? "").split(separator: ",").map { String($0.filter { $0 != " " }) })
    }
}

extension TestClient {
    func head(_ target: String, headers: HTTPHeaders = HTTPHeaders()) async throws -> TestResponse {
        try await execute(.head, target, headers: headers)
    }
}

/// What a user-visible 500 must never show: the error the handler threw.
struct LeakyError: Error, CustomStringConvertible {
    var description: String { "database password is hunter2" }
}
