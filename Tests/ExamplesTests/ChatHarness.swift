import ChatApp
import Courier
import CourierChannel
import CourierTesting
import Foundation

/// The Chat example on a free loopback port.
final class ChatServer: Sendable {
    static let channelSecret: [UInt8] = Array(100..<132)
    let channels: ChannelService
    let server: HTTPServer
    var port: Int { server.port }

    init(clock: any ChannelClock = SystemClock()) throws {
        channels = ChannelService(secret: Self.channelSecret, clock: clock)
        let app = try makeChat(channels: channels)
        server = try app.start(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, workers: 1, handlesSignals: false))
    }

    func stop() {
        server.shutdown()
        server.waitUntilStopped()
    }
}

func withChat(clock: any ChannelClock = SystemClock(), _ body: (ChatServer) async throws -> Void) async throws {
    let server = try ChatServer(clock: clock)
    defer { server.stop() }
    try await body(server)
}

/// One chat page as a browser loads it: the client ID it shows and the token it holds.
struct ChatTab {
    let me: String
    let token: String
    let http: TestClient

    static func open(port: Int) async throws -> ChatTab {
        let http = TestClient(port: port)
        let response = try await http.get("/")
        guard response.status == 200 else { throw HarnessFailure("GET / answered \(response.status)") }
        let page = response.text
        return ChatTab(me: try Self.string(after: "var me = ", in: page), token: try Self.string(after: "token = ", in: page),
                       http: http)
    }

    private static func string(after marker: String, in page: String) throws -> String {
        guard let start = page.range(of: marker)?.upperBound, page[start...].first == "\"",
              let end = page[page.index(after: start)...].firstIndex(of: "\"") else {
            throw HarnessFailure("no string after \(marker) in the chat page")
        }
        return String(page[page.index(after: start)..<end])
    }

    /// What the page's form posts; `fields` may add what an attacker would.
    func send(_ text: String, token: String? = nil, fields: [(String, String)] = [],
              headers: HTTPHeaders = HTTPHeaders()) async throws -> TestResponse {
        try await http.post("/send", form: [("token", token ?? self.token), ("text", text)] + fields, headers: headers)
    }

    /// The page's channel, opened over the WebSocket transport.
    func openChannel(port: Int) async throws -> RoomChannel {
        try await RoomChannel(port: port, token: token)
    }
}

/// What a page hears from the room: `kind` (message, join, leave), `from` and `text`.
struct RoomEventSeen: Decodable, Equatable {
    var kind: String
    var from: String
    var text: String?
}

/// A chat page's channel: the room's events.
typealias RoomChannel = PageChannel

extension PageChannel {
    func nextEvent() async throws -> RoomEventSeen { try await nextMessage(as: RoomEventSeen.self) }

    /// The next chat line, past joins and leaves.
    func nextMessage() async throws -> RoomEventSeen {
        while true {
            let event = try await nextEvent()
            if event.kind == "message" { return event }
        }
    }
}
