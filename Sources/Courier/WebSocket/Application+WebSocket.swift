import CourierHTTP
import CourierServer

/// What the app decides about an upgrade before it happens.
public struct WebSocketAcceptance: Sendable {
    /// One of the client's offered subprotocols, or nil for none.
    public var subprotocol: String?
    /// Accepts the upgrade, agreeing on `subprotocol` (which must be one the client offered) or none.
    public init(subprotocol: String? = nil) { self.subprotocol = subprotocol }
}

extension Application {
    /// Serves WebSocket connections at `template` (a GET route; middleware runs first, so it can
    /// refuse). `shouldUpgrade` sees the request (its Origin, its offered subprotocols) and may
    /// throw `HTTPError(.forbidden)`; `onUpgrade` runs on the connection's loop with the open
    /// socket: set its callbacks there.
    public func webSocket(_ template: String, configuration: WebSocketConfiguration = WebSocketConfiguration(),
                          shouldUpgrade: (@Sendable (Request, [String]) throws -> WebSocketAcceptance)? = nil,
                          onUpgrade: @escaping @Sendable (Request, WebSocket) -> Void) {
        get(template) { request, response in
            let head = HTTPRequestHead(method: request.method, target: request.path, version: request.version, headers: request.headers)
            let offer: WebSocketHandshake.Offer
            do {
                offer = try WebSocketHandshake.validate(head)
            } catch let refusal as WebSocketHandshake.Refusal {
                throw HTTPError(refusal.status, refusal.reason, headers: refusal.headers)
            }
            let acceptance = try shouldUpgrade?(request, offer.protocols) ?? WebSocketAcceptance()
            if let chosen = acceptance.subprotocol, !offer.protocols.contains(chosen) {
                throw HTTPError(.internalServerError, "chose a subprotocol the client did not offer")
            }
            let deflate = configuration.compression
                ? PerMessageDeflateParameters.negotiate(offers: offer.extensionOffers,
                                                        contextTakeover: configuration.compressionContextTakeover)
                : nil
            let answer = WebSocketHandshake.response(for: offer, subprotocol: acceptance.subprotocol, deflate: deflate)
            response.status = answer.status
            response.headers = answer.headers
            response.body = []
            response.upgrade = { upgraded in
                let socket = WebSocket(upgraded: upgraded, configuration: configuration, deflate: deflate,
                                       subprotocol: acceptance.subprotocol)
                onUpgrade(request, socket)
                socket.start()
            }
        }
    }
}
