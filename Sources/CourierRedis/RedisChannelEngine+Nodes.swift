import CourierChannel
import CourierLoop

/// What nodes tell each other, and what each does for all of them: keep its clients present,
/// record how far their connections got, report the clients any node let lapse.
extension RedisChannelEngine {
    /// On a node's channel: `kick <connection> <reply node> <new connection> <client ID>` (a newer
    /// connection elsewhere took the client; answer how far this one got), `released <new
    /// connection> <epoch or -> <delivered> <client ID>` (that answer). The client ID comes last,
    /// as it may hold spaces.
    func nodeMessage(_ message: RedisMessage) {
        let parts = message.payload.split(separator: UInt8(ascii: " "), maxSplits: 4, omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
        guard parts.count == 5 else { return }
        switch parts[0] {
        case "kick":
            kicked(connectionID: parts[1], replyNode: parts[2], newConnectionID: parts[3], clientID: parts[4])
        case "released":
            released(parts[1], epoch: parts[2] == "-" ? nil : parts[2], delivered: UInt64(parts[3]) ?? 0)
        default:
            break
        }
    }

    private func kicked(connectionID: String, replyNode: String, newConnectionID: String, clientID: String) {
        let replaced = state.withLock { state -> (connection: any ChannelConnection, epoch: String, delivered: UInt64,
                                                   topics: [String])? in
            guard let client = state.clients[clientID], client.connection.connectionID == connectionID else { return nil }
            _ = state.remove(clientID)
            return (client.connection, client.epoch, client.session.deliveredThrough, Array(client.topics.keys))
        }
        let answer = replaced.map { "released \(newConnectionID) \($0.epoch) \($0.delivered) \(clientID)" }
            ?? "released \(newConnectionID) - 0 \(clientID)"
        control.command.send(["PUBLISH", ChannelScripts.node(replyNode), answer]) { _ in }
        guard let replaced else { return }
        let connectionLoop = replaced.connection.loop
        connectionLoop.execute { [self] in unfollowIfDone(clientID, on: connectionLoop) }
        for topic in replaced.topics { syncTopic(topic, on: connectionLoop, catchUp: []) }
        replaced.connection.scheduleTerminate(code: 409, description: "Replaced+by+another+connection.")
    }

    /// Tells Redis this node is alive until the presence lapse: its connected clients stay present
    /// while it does. `completion` (on the control loop) hears whether the node was not listed.
    func sayAlive(now: Double, completion: @escaping @Sendable (Bool) -> Void = { _ in }) {
        control.command.run(ChannelScripts.alive, keys: [Array(ChannelScripts.nodes.utf8)],
                            arguments: [nodeID, String(now + presenceLapseSeconds)].map { Array($0.utf8) }) { result in
            if case .success(let reply) = result { completion(reply.int == 1) }
        }
    }

    /// Keeps this node's clients present and records how far their connections got.
    func refresh() {
        let now = clock.now()
        let progress = state.withLock { state -> [String] in
            var progress: [String] = []
            let progressed = state.progressed
            // A fresh table: one that held a crowd's progress keeps its capacity otherwise.
            state.progressed = [:]
            for (clientID, client) in progressed where state.clients[clientID] === client {
                var topicsDue = 0
                for feed in client.topics.values where feed.session.deliveredThrough > feed.recorded { topicsDue += 1 }
                guard client.session.deliveredThrough > client.recorded || topicsDue > 0 else { continue }
                client.recorded = client.session.deliveredThrough
                progress += [clientID, client.epoch, String(client.recorded), String(topicsDue)]
                for (topic, feed) in client.topics where feed.session.deliveredThrough > feed.recorded {
                    feed.recorded = feed.session.deliveredThrough
                    progress += [topic, String(feed.recorded)]
                }
            }
            return progress
        }
        available.store(control.command.isConnected, ordering: .relaxed)
        sayAlive(now: now) { [self] takenForDead in
            // New, or taken for dead while paused or cut off: its clients are marked connected
            // again, which costs one command per client, once.
            guard takenForDead else { return }
            let here = state.withLock { Array($0.clients.keys) }
            guard !here.isEmpty else { return }
            let arguments = ["", nodeID] + here
            control.command.run(ChannelScripts.refresh, keys: [ChannelScripts.presence, ChannelScripts.nodeClients(nodeID)].map { Array($0.utf8) },
                              arguments: arguments.map { Array($0.utf8) }) { [self] result in
                guard case .success(let reply) = result, let back = reply.array?.compactMap(\.string), !back.isEmpty else { return }
                // Reaped while this node could not refresh them (paused, cut off), yet still
                // connected here: a new presence episode, announced as such.
                state.withLock { state in state.reconnected += back.filter { state.clients[$0] != nil } }
            }
        }
        if !progress.isEmpty {
            control.command.run(ChannelScripts.progress, arguments: progress.map { Array($0.utf8) }) { _ in }
        }
    }

    /// Reports the clients any node let lapse: a closed WebSocket's grace ends within a reap
    /// interval of its end, so its `disconnected` comes within 2 s (section 5), and a crowd
    /// that left together is taken a batch at a time, back to back, not a batch per interval.
    /// One reap at a time: while Redis is slow, they do not pile up behind each other.
    func reap() {
        guard reported.load(ordering: .relaxed), !halted.load(ordering: .relaxed),
              !reaping.exchange(true, ordering: .relaxed) else { return }
        let batch = Self.reapBatch
        control.command.run(ChannelScripts.reap, keys: [ChannelScripts.presence, ChannelScripts.nodes].map { Array($0.utf8) },
                            arguments: [String(clock.now()), String(batch), String(keyTTLSeconds)].map { Array($0.utf8) }) { [self] result in
            reaping.store(false, ordering: .relaxed)
            guard case .success(let reply) = result, let gone = reply.array?.compactMap(\.string), !gone.isEmpty else { return }
            state.withLock { $0.disconnected += gone }
            if gone.count >= batch { reap() }
        }
    }

    /// How often lapsed presence is looked for, and how many clients one reap takes: each is
    /// one script of O(batch) work in Redis, short enough not to hold up other commands.
    static let reapMilliseconds: UInt64 = 250
    static let reapBatch = 1000
}
