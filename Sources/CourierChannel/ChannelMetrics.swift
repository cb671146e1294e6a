import CoreMetrics
import Synchronization

/// The channel service's series, through swift-metrics, once the app it serves has `Metrics`
/// (until then each call here costs an uncontended lock and a nil check):
///
/// - `channel_messages_sent_total`: messages the app sent, one per `sendMessage` or `publish`;
/// - `channel_messages_delivered_total`: message frames handed to a client's transport
///   (a long-poll answer sent again after it was lost counts again);
/// - `channel_messages_held`: messages the in-memory engine holds for replay, set each sweep;
/// - `channel_clients{transport}`: open channels by transport, `websocket` or `longpoll`;
/// - `channel_presence_events_total{kind}`: `connected` and `disconnected` reports.
final class ChannelMetrics: Sendable {
    enum Transport {
        case webSocket
        case longPoll
    }

    private let instruments = Mutex<Instruments?>(nil)

    /// Starts reporting to `factory`; a later call replaces it.
    func start(_ factory: any MetricsFactory) {
        let made = Instruments(factory)
        instruments.withLock { $0 = made }
    }

    func sent(_ count: Int = 1) {
        guard count > 0, let instruments = current else { return }
        instruments.sent.increment(by: count)
    }

    func delivered(_ count: Int) {
        guard count > 0, let instruments = current else { return }
        instruments.delivered.increment(by: count)
    }

    func held(_ count: Int) {
        current?.held.set(count)
    }

    func clientOpened(_ transport: Transport) {
        current?.clients(transport).increment()
    }

    func clientClosed(_ transport: Transport) {
        current?.clients(transport).decrement()
    }

    func presence(connected: Bool) {
        guard let instruments = current else { return }
        (connected ? instruments.connected : instruments.disconnected).increment()
    }

    private var current: Instruments? { instruments.withLock { $0 } }

    private final class Instruments: Sendable {
        let sent: Counter
        let delivered: Counter
        let held: Meter
        let webSocketClients: Meter
        let longPollClients: Meter
        let connected: Counter
        let disconnected: Counter

        init(_ factory: any MetricsFactory) {
            sent = Counter(label: "channel_messages_sent_total", factory: factory)
            delivered = Counter(label: "channel_messages_delivered_total", factory: factory)
            held = Meter(label: "channel_messages_held", factory: factory)
            webSocketClients = Meter(label: "channel_clients", dimensions: [("transport", "websocket")], factory: factory)
            longPollClients = Meter(label: "channel_clients", dimensions: [("transport", "longpoll")], factory: factory)
            connected = Counter(label: "channel_presence_events_total", dimensions: [("kind", "connected")], factory: factory)
            disconnected = Counter(label: "channel_presence_events_total", dimensions: [("kind", "disconnected")], factory: factory)
        }

        func clients(_ transport: Transport) -> Meter {
            switch transport {
            case .webSocket: webSocketClients
            case .longPoll: longPollClients
            }
        }
    }
}
