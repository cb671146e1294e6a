import ArgumentParser
import ChatApp
import Courier
import CourierChannel
import CourierRedis
import Foundation

/// A chat room on the Channel API (ChatApp's makeChat): each tab gets a client ID of its own,
/// subscribed to the room, and hears every message and every join and leave through its channel.
struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "Chat", abstract: "A chat room on the Channel API.")

    @OptionGroup var server: ServerOptions
    @OptionGroup var redis: RedisOptions

    @Flag(help: "Turn the WebSocket transport off, so clients long-poll.")
    var longPollOnly = false

    @Option(help: ArgumentHelp("Where the channel token secret is kept ($COURIER_CHANNEL_SECRET wins).", valueName: "path"))
    var secretFile = "courier-data/channel-secret"

    @Option(help: ArgumentHelp("For tests: each page's channel token expires after this many seconds (1...86400) instead of 120 minutes.",
                               valueName: "n"))
    var tokenSeconds: Int?

    func validate() throws {
        if let tokenSeconds, !(1...86_400).contains(tokenSeconds) {
            throw ValidationError("--token-seconds must be 1...86400, got \(tokenSeconds).")
        }
    }

    func run() throws {
        let channels = try ChannelService(settings: ChannelSettings(webSocketEnabled: !longPollOnly),
                                          secretPath: secretFile, engine: try redis.engine)
        let app = try makeChat(channels: channels, tokenSeconds: tokenSeconds)
        try app.run(options: server)
    }
}

Chat.main()
