import CourierChannel
import Foundation

/// What every tab hears, as JSON through its channel.
struct RoomEvent: Encodable {
    let kind: String
    let from: String
    var text: String? = nil
}

/// The one room: a channel topic every page's client is subscribed to.
struct Room: Sendable {
    static let topic = "room"
    let channels: ChannelService

    func subscribe(_ clientID: String) throws(ChannelError) {
        try channels.subscribe(clientID: clientID, topic: Self.topic)
    }

    /// Throws `invalidMessage` when the event's JSON is over the channel's 32,767 bytes.
    func announce(_ event: RoomEvent) throws {
        let json = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
        try channels.publish(topic: Self.topic, message: json)
    }
}
