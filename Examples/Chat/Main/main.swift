import ChatApp
import Courier
import CourierChannel
import CourierRedis
import Foundation

// A chat room on the Channel API (ChatApp's makeChat): each tab gets a client ID of its own,
// subscribed to the room, and hears every message and every join and leave through its channel.
//
//     Chat --port 8080 [--long-poll-only] [--secret-file courier-data/channel-secret] [--token-seconds N]

let usage = """
    Usage: Chat [--host H] [--port P] [--workers N] [--busy-poll-us N] [--reuse-port] [--redis URL]
                [--long-poll-only] [--secret-file PATH] [--token-seconds N]

      --host H             address to listen on (default 0.0.0.0)
      --port P             port to listen on (default 8080, or $PORT)
      --workers N          event loops (default: one per core)
      --busy-poll-us N     keep each loop polling for N µs after a read instead of
                           sleeping: lower latency, a busy core (default 0, off)
      --reuse-port         share the port with other processes that ask for it too
                           (SO_REUSEPORT); without it a port in use fails the start
      --redis URL          keep the channels in Redis (or $REDIS_URL), so several processes
                           sharing the secret serve the same room
      --long-poll-only     turn the WebSocket transport off, so clients long-poll
      --secret-file PATH   where the channel token secret is kept
                           (default courier-data/channel-secret; $COURIER_CHANNEL_SECRET wins)
      --token-seconds N    for tests: each page's channel token expires after N seconds
                           (1...86400) instead of the default 120 minutes
    """

if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
    print(usage)
    exit(0)
}

let options = CommandLineOptions()
let longPollOnly = CommandLine.arguments.contains("--long-poll-only")
let channels = try ChannelService(settings: ChannelSettings(webSocketEnabled: !longPollOnly),
                                  secretPath: options.value("secret-file") ?? "courier-data/channel-secret",
                                  engine: try .fromCommandLine(options))
let app: Application
do {
    app = try makeChat(channels: channels, tokenSeconds: try options.integer("token-seconds"))
} catch {
    FileHandle.standardError.write(Data("Chat: \(error)\n\n\(usage)\n".utf8))
    exit(2)
}

do {
    try app.run()
} catch {
    print("Chat: \(error)")
    exit(1)
}
