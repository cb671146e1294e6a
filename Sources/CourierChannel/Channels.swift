public import Courier
import CourierLoop
import Foundation
import Synchronization

/// The Channel API as middleware: mounts the transports and the JavaScript client under
/// `/_ah/channel/`, dispatches presence through the app's own router, and refuses (403) the
/// presence paths to anyone outside, so presence cannot be forged.
public struct Channels: RequestFilter {
    /// Where presence POSTs a client's connect: route a handler here when `presence` is on.
    public static let connectedPath = "/_ah/channel/connected/"
    /// Where presence POSTs a client's disconnect: route a handler here when `presence` is on.
    public static let disconnectedPath = "/_ah/channel/disconnected/"
    static let presencePrefixes = ["/_ah/channel/connected", "/_ah/channel/disconnected"]

    /// The service whose channels are served.
    public let service: ChannelService
    /// Whether connects and disconnects are POSTed to the app's own presence routes.
    public let presence: Bool

    /// Serves `service`'s channels; with `presence`, route `connectedPath` and `disconnectedPath` in the app.
    public init(_ service: ChannelService, presence: Bool = false) {
        self.service = service
        self.presence = presence
    }

    /// Refuses (403) outside requests to the presence paths, and starts the service's sweeper on the request's loop.
    public func filter(_ request: inout Request) throws {
        // Messages sent to clients that never connect are held too, so the sweep that forgets
        // them must run even on a server no channel has reached yet.
        if let loop = request.loop { service.ensureSweeper(on: loop) }
        if Self.presencePrefixes.contains(where: { request.path.hasPrefix($0) }), request.storage[InternalPresence.self] != true {
            throw HTTPError(.forbidden, "Presence notifications come only from the channel service.")
        }
    }

    /// Adds the routes under `/_ah/channel/`: the JavaScript client, the WebSocket (unless disabled), long-poll and close, and hooks presence to the app's router.
    public func mount(on app: Application) throws {
        let service = service
        app.whenMeasured { factory in service.measure(with: factory) }
        app.get("/_ah/channel/jsapi") { _, response in
            response.contentType = "text/javascript"  // exactly as section 3 gives it; the source is ASCII
            response.headers.set("Cache-Control", "no-cache")
            response.write(ChannelJavaScript.source)
        }
        if service.settings.webSocketEnabled {
            // See ChannelSettings.webSocketPingMilliseconds: with the presence grace and the
            // sweeps, `disconnected` comes within one heartbeat of a client going silent.
            let configuration = WebSocketConfiguration(maxMessageBytes: 8 * 1024,
                                                       pingIntervalMilliseconds: service.settings.webSocketPingMilliseconds,
                                                       pongTimeoutMilliseconds: service.settings.webSocketPongTimeoutMilliseconds)
            app.webSocket("/_ah/channel/ws", configuration: configuration) { _, socket in
                _ = WebSocketChannelConnection(socket: socket, service: service)
            }
        }
        app.post("/_ah/channel/poll", maxBodyBytes: 8 * 1024) { request, response in
            try await LongPollEndpoint.poll(request, &response, service: service)
        }
        app.post("/_ah/channel/close", maxBodyBytes: 8 * 1024) { request, response in
            LongPollEndpoint.close(request, service: service)
            response.status = .noContent
        }
        if presence {
            let dispatcher = PresenceDispatcher(app: app)
            service.setPresenceDispatcher { clientID, connected in dispatcher.dispatch(clientID, connected: connected) }
        }
    }
}

/// Marks the presence requests the middleware itself makes.
enum InternalPresence: RequestStorageKey {
    typealias Value = Bool
}

/// Sends presence notifications through the app (middleware, router, handler) in order.
final class PresenceDispatcher: Sendable {
    private let app: Application
    private let responder = Locked<ApplicationResponder?>(nil)
    private let queue = Locked<(items: [(String, Bool)], running: Bool)>(([], false))

    init(app: Application) { self.app = app }

    func dispatch(_ clientID: String, connected: Bool) {
        let start = queue.withLock { state -> Bool in
            state.items.append((clientID, connected))
            defer { state.running = true }
            return !state.running
        }
        guard start else { return }
        Task { await deliverQueued() }
    }

    /// One at a time, so a client's connected always reaches the app before its disconnected.
    /// The queue is taken a batch at a time: a crowd's 16,700 disconnects cost O(1) each, and
    /// the queue does not keep the crowd's capacity afterwards.
    private func deliverQueued() async {
        while true {
            let batch = queue.withLock { state -> [(String, Bool)] in
                if state.items.isEmpty { state.running = false }
                defer { state.items = [] }
                return state.items
            }
            guard !batch.isEmpty else { return }
            guard let responder = currentResponder() else {
                // The app cannot answer (its routes failed to build): dropped, not kept forever.
                app.logger.error("presence notifications dropped: the app has no responder", metadata: ["count": "\(batch.count)"])
                continue
            }
            for (clientID, connected) in batch {
                // Same-origin by construction, so an app's `OriginCheck(strict: true)` lets it through.
                var request = Request(method: .post, target: connected ? Channels.connectedPath : Channels.disconnectedPath,
                                      headers: ["Content-Type": "application/x-www-form-urlencoded", "Host": "localhost",
                                                "Origin": "http://localhost"],
                                      body: Array(URLEncoding.form([("from", clientID)]).utf8), remoteAddress: "channel-service")
                request.storage[InternalPresence.self] = true
                let response = await responder.handle(request)
                if response.status.code >= 400 {
                    app.logger.warning("presence handler answered \(response.status.code)", metadata: ["client": "\(clientID)"])
                }
            }
        }
    }

    private func currentResponder() -> ApplicationResponder? {
        if let existing = responder.withLock({ $0 }) { return existing }
        guard let built = try? app.responder() else { return nil }
        responder.withLock { $0 = built }
        return built
    }
}
