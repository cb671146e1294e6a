import ArgumentParser
import Courier
import CourierChannel
import CourierRedis
import Foundation
import Synchronization

// A channel server with plain HTTP controls, one node of a cluster: what the multi-node tests
// and the cluster benchmark drive. Start several on one Redis (and one data dir, for the
// shared token secret) behind a load balancer.
//
//     ChannelNode --port 8081 --redis redis://127.0.0.1:6379 --data-dir courier-data [--workers N] [--reuse-port]
//                 [--recovery-window SECONDS] [--heartbeat SECONDS] [--presence-log-limit COUNT]
//
//   GET  /token?client=ID                 the channel token for client ID (text)
//   POST /send  client, message[, key]    answers 200 with the sequence number once the message is held
//                                         (in Redis, with --redis); 503 when it cannot be; a retried
//                                         key is never sent twice. Repeated client and message (and
//                                         key) fields send a batch: the seqs, comma-separated
//   POST /subscribe  client, topic        204 once the engine holds the subscription
//   POST /publish  topic, message[, key]  200 with the number of subscribers sent to, once the engine
//                                         holds the copies; a retried key is never published twice
//   GET  /subscribers?topic=T             the topic's subscribers, as a sorted JSON array
//   GET  /presence                        the presence events this node's app received, as JSON
//   GET  /health                          "ok <pid>"

/// Runs a channel operation that waits for the engine: unreachable Redis is 503 (try again,
/// with the same key), any other channel error 400.
func confirmed<T>(_ operation: () async throws -> T) async throws -> T {
    do {
        return try await operation()
    } catch ChannelError.unavailable(let reason) {
        throw HTTPError(.serviceUnavailable, "not done: \(reason)")
    } catch let error as ChannelError {
        throw HTTPError(.badRequest, "\(error)")
    }
}


struct PresenceEvent: Encodable, Sendable {
    let client: String
    let connected: Bool
}

/// The presence events, the oldest dropped past `limit`: a soak's node would otherwise grow by
/// every connect and disconnect, which its memory slope would count as a leak.
final class PresenceLog: Sendable {
    private let events = Mutex<[PresenceEvent]>([])
    private let limit: Int
    init(limit: Int) { self.limit = limit }
    func record(_ event: PresenceEvent) {
        events.withLock {
            $0.append(event)
            if $0.count > limit { $0.removeFirst($0.count - limit) }
        }
    }
    var all: [PresenceEvent] { events.withLock { $0 } }
}

/// One node of a channel cluster, with plain HTTP controls (see the top of this file).
struct ChannelNode: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ChannelNode", abstract: "A channel server with plain HTTP controls: one node of a cluster.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var redis: RedisOptions

    @Option(help: ArgumentHelp("Where the channel secret is kept (nodes share it).", valueName: "dir"))
    var dataDir = "courier-data"

    // The soak keeps clients away past the window on purpose; a short window lets a two-minute
    // run do that.
    @Option(help: ArgumentHelp("How long messages are held for a client that is away.", valueName: "seconds"))
    var recoveryWindow: Double = ChannelSettings().recoveryWindowSeconds

    @Option(help: ArgumentHelp("A silent client is declared gone within this interval.", valueName: "seconds"))
    var heartbeat: Double = ChannelSettings().heartbeatSeconds

    @Option(help: ArgumentHelp("The most presence events GET /presence keeps (the newest).", valueName: "count"))
    var presenceLogLimit = Int.max

    func validate() throws {
        guard recoveryWindow >= 1, heartbeat >= 1 else { throw ValidationError("--recovery-window and --heartbeat must be at least 1 second.") }
        guard presenceLogLimit >= 1 else { throw ValidationError("--presence-log-limit must be at least 1.") }
    }

    func run() throws {
        let settings = ChannelSettings(recoveryWindowSeconds: recoveryWindow, heartbeatSeconds: heartbeat)
        let channels = try ChannelService(settings: settings, secretPath: "\(dataDir)/channel-secret", engine: try redis.engine)
        let presence = PresenceLog(limit: presenceLogLimit)
        let app = Application()
        app.use(Channels(channels, presence: true))

        app.get("/token") { request, response in
            response.contentType = "text/plain; charset=utf-8"
            response.headers.set("Cache-Control", "no-store")
            response.write(try channels.createChannel(clientID: request["client"]))
        }
        app.post("/send") { request, response in
            let clients = request.all("client"), messages = request.all("message"), keys = request.all("key")
            guard clients.count == messages.count, keys.isEmpty || keys.count == clients.count else {
                throw HTTPError(.badRequest, "as many message fields (and key fields, if any) as client fields")
            }
            if clients.count <= 1 {
                let key = request["key"]
                let seq = try await confirmed {
                    try await channels.sendMessage(clientID: request["client"], message: request["message"], idempotencyKey: key.isEmpty ? nil : key)
                }
                return response.write(String(seq))
            }
            let batch = clients.indices.map { (clientID: clients[$0], message: messages[$0], idempotencyKey: keys.isEmpty ? nil : keys[$0]) }
            let seqs = try await confirmed { try await channels.sendMessages(batch) }
            response.write(seqs.map(String.init).joined(separator: ","))
        }
        app.post("/subscribe") { request, response in
            try await confirmed { try await channels.subscribe(clientIDs: [request["client"]], topic: request["topic"]) }
            response.status = .noContent
        }
        app.post("/publish") { request, response in
            let key = request["key"]
            let count = try await confirmed {
                try await channels.publish(topic: request["topic"], message: request["message"], idempotencyKey: key.isEmpty ? nil : key)
            }
            response.write(String(count))
        }
        app.get("/subscribers") { request, response in
            try response.json(try await confirmed { try await channels.fetchSubscribers(of: request["topic"]).sorted() })
        }
        app.get("/presence") { _, response in try response.json(presence.all) }
        app.get("/health") { _, response in response.write("ok \(ProcessInfo.processInfo.processIdentifier)") }
        app.post(Channels.connectedPath) { request, response in
            presence.record(PresenceEvent(client: request["from"], connected: true))
            response.status = .noContent
        }
        app.post(Channels.disconnectedPath) { request, response in
            presence.record(PresenceEvent(client: request["from"], connected: false))
            response.status = .noContent
        }
        try app.run(options: server)
    }
}

ChannelNode.main()
