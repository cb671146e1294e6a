public import CoreMetrics

/// The server's gauges, through swift-metrics: what is open now, counted where a socket is
/// accepted and where it closes, so a scrape costs nothing and a request nothing either (only
/// an accept, a close, an upgrade). A server made without them measures nothing.
public final class ServerMetrics: Sendable {
    /// `http_connections_open`: sockets held, from accept to close, whatever protocol they
    /// speak by then (an upgraded WebSocket still holds its connection).
    let connectionsOpen: Meter
    /// `websockets_open`: the connections that are WebSockets, from upgrade to close.
    let webSocketsOpen: Meter

    /// Gauges made by `factory` (a Prometheus registry's, or the one bootstrapped in `MetricsSystem`).
    public init(factory: any MetricsFactory) {
        connectionsOpen = Meter(label: "http_connections_open", factory: factory)
        webSocketsOpen = Meter(label: "websockets_open", factory: factory)
    }
}
