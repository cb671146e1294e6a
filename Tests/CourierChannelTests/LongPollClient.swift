import Courier
import CourierTesting
import Dispatch
import Foundation

/// A channel client over the long-poll transport: POST /_ah/channel/poll with the token in the
/// form body. Blocking reads run on a queue of its own, never on Swift's cooperative pool.
final class LongPollClient: @unchecked Sendable {
    let raw: RawClient
    let cid: String
    /// Extra request header lines sent with every poll (e.g. `X-Test-Client: a`).
    let headers: [String]
    private let queue = DispatchQueue(label: "courier.channel-test.long-poll")

    init(port: Int, cid: String = "lp-\(UInt32.random(in: 0...UInt32.max))", headers: [String] = []) throws {
        raw = try RawClient(port: port, timeoutSeconds: 10)
        self.cid = cid
        self.headers = headers
    }

    private func pollRequest(token: String, session: String, seq: UInt64) -> String {
        let body = URLEncoding.form([("token", token), ("session", session), ("seq", String(seq)), ("cid", cid)])
        return "POST /_ah/channel/poll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + headers.map { $0 + "\r\n" }.joined() + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }

    /// Sends a poll and does not read its answer (a client about to die mid-poll).
    func sendPoll(token: String, session: String, seq: UInt64) -> Bool {
        raw.send(pollRequest(token: token, session: session, seq: seq))
    }

    func poll(token: String, session: String = "", seq: UInt64 = 0) async throws -> (status: Int, frames: [ChannelFrame]) {
        let request = pollRequest(token: token, session: session, seq: seq)
        let response = try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result {
                    guard self.raw.send(request) else { throw RawClient.Failure.closed }
                    return try self.raw.readResponse()
                })
            }
        }
        return (response.status, try JSONDecoder().decode([ChannelFrame].self, from: Data(response.body)))
    }
}

/// Sends one raw request on a fresh connection and reads the answer (off the cooperative pool).
func rawRequest(port: Int, _ text: String) async throws -> TestResponse {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue(label: "courier.channel-test.raw").async {
            continuation.resume(with: Result {
                let client = try RawClient(port: port, timeoutSeconds: 5)
                guard client.send(text) else { throw RawClient.Failure.closed }
                return try client.readResponse()
            })
        }
    }
}
