// HBChannel: the Hummingbird-websocket side of Benchmarks/channel/run.sh, the same
// scenario as Courier's ChannelBench written the way a Hummingbird user would.
//
//   HBChannel --port 18191 [--threads 1]
//
//   GET  /ws?c=ID  WebSocket upgrade; the client identifies itself in the query. Once its
//                  writer is registered the server sends {"type":"opened"}, so the client
//                  knows messages can reach it.
//   POST /send?c=ID              body = message -> written to that client's socket, 204
//                                (404 when it is not connected)
//   POST /subscribe?c=ID&t=TOPIC -> 204
//   POST /publish?t=TOPIC        body = message -> written to every subscriber's socket in
//                                turn; answers the number reached
// A Mutex-guarded dictionary client ID -> WebSocketOutboundWriter, and topic -> client IDs.
// One NIO event loop thread by default; no WebSocket extensions (no permessage-deflate).
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

var port = 8081
var threads = 1
var args = CommandLine.arguments.dropFirst()
while let arg = args.popFirst() {
    switch arg {
    case "--port": port = Int(args.popFirst() ?? "") ?? port
    case "--threads": threads = Int(args.popFirst() ?? "") ?? threads
    default:
        print("usage: HBChannel --port P [--threads N]")
        exit(2)
    }
}

/// Who is connected (client ID -> its socket's writer) and who listens to which topic.
final class Hub: Sendable {
    private struct State {
        var writers: [String: WebSocketOutboundWriter] = [:]
        var topics: [String: Set<String>] = [:]
    }
    private let state = Mutex(State())

    func connected(_ clientID: String, _ writer: WebSocketOutboundWriter) {
        state.withLock { $0.writers[clientID] = writer }
    }

    func disconnected(_ clientID: String) {
        state.withLock { _ = $0.writers.removeValue(forKey: clientID) }
    }

    func writer(for clientID: String) -> WebSocketOutboundWriter? {
        state.withLock { $0.writers[clientID] }
    }

    func subscribe(_ clientID: String, to topic: String) {
        state.withLock { _ = $0.topics[topic, default: []].insert(clientID) }
    }

    /// The writers of the topic's connected subscribers.
    func writers(of topic: String) -> [WebSocketOutboundWriter] {
        state.withLock { state in (state.topics[topic] ?? []).compactMap { state.writers[$0] } }
    }
}

let hub = Hub()
let router = Router()

router.post("/send") { request, _ -> HTTPResponse.Status in
    let clientID = String(request.uri.queryParameters["c"] ?? "")
    let body = try await request.body.collect(upTo: 32 * 1024)
    guard let writer = hub.writer(for: clientID) else { return .notFound }
    try await writer.write(.text(String(buffer: body)))
    return .noContent
}

router.post("/subscribe") { request, _ -> HTTPResponse.Status in
    guard let clientID = request.uri.queryParameters["c"], let topic = request.uri.queryParameters["t"] else {
        return .badRequest
    }
    hub.subscribe(String(clientID), to: String(topic))
    return .noContent
}

router.post("/publish") { request, _ -> String in
    let topic = String(request.uri.queryParameters["t"] ?? "")
    let message = String(buffer: try await request.body.collect(upTo: 32 * 1024))
    var reached = 0
    for writer in hub.writers(of: topic) {
        // A subscriber that has gone away fails its write; the others still get the message.
        do {
            try await writer.write(.text(message))
            reached += 1
        } catch {}
    }
    return String(reached)
}

let elg = MultiThreadedEventLoopGroup(numberOfThreads: threads)

let app = Application(
    router: router,
    server: .http1WebSocketUpgrade(configuration: .init(ws: .init(extensions: []))) { request, _, _ in
        let uri = URI(request.path ?? "")
        guard uri.path == "/ws", let clientID = uri.queryParameters["c"].map(String.init), !clientID.isEmpty else {
            return .dontUpgrade
        }
        return .upgrade([:]) { inbound, outbound, _ in
            hub.connected(clientID, outbound)
            defer { hub.disconnected(clientID) }
            try await outbound.write(.text("{\"type\":\"opened\"}"))
            // Nothing is expected from the client; keep the connection until it closes.
            for try await _ in inbound.messages(maxSize: 1 << 16) {}
        }
    },
    configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "HBChannel"),
    eventLoopGroupProvider: .shared(elg)
)
try await app.runService()
