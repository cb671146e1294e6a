import Courier
import CourierTesting
import Foundation

/// An example page's channel over the WebSocket transport, opened fresh: the messages the app
/// pushes to it, decoded from their JSON. Tic Tac Toe's and Chat's harnesses both use it.
final class PageChannel: Sendable {
    let client: WebSocketTestClient

    init(port: Int, token: String) async throws {
        client = try WebSocketTestClient(port: port, path: "/_ah/channel/ws")
        _ = client.sendText("{\"type\":\"open\",\"token\":\"\(token)\",\"session\":\"\",\"seq\":0}")
        let opened = try await nextFrame()
        guard opened["type"] as? String == "opened" else { throw HarnessFailure("channel did not open: \(opened)") }
    }

    private func nextFrame() async throws -> [String: Any] {
        while true {
            let frame = try await client.readFrame()
            if frame.close != nil { throw HarnessFailure("the channel closed") }
            guard frame.opcode == WebSocketOpcode.text.rawValue else { continue }
            guard let object = try JSONSerialization.jsonObject(with: Data(frame.payload)) as? [String: Any] else {
                throw HarnessFailure("not a JSON object: \(frame.text)")
            }
            return object
        }
    }

    /// The next message frame's data, decoded as `type`.
    func nextMessage<T: Decodable>(as type: T.Type) async throws -> T {
        let frame = try await nextFrame()
        guard frame["type"] as? String == "message", let data = frame["data"] as? String else {
            throw HarnessFailure("expected a message, got \(frame)")
        }
        return try JSONDecoder().decode(T.self, from: Data(data.utf8))
    }

    /// True when nothing arrives for `milliseconds`.
    func isSilent(milliseconds: Int = 300) async -> Bool {
        client.setTimeout(milliseconds: milliseconds)
        defer { client.setTimeout(milliseconds: 5_000) }
        return (try? await nextFrame()) == nil
    }

    func close() { client.sendClose(code: 1000) }
}
