import Courier

/// A presence notification as the app's handler sees it (Java's `parsePresence`): the middleware
/// POSTs `from=<clientID>` to `/_ah/channel/connected/` or `/_ah/channel/disconnected/`.
public struct ChannelPresence: Sendable {
    public let clientID: String
    public let isConnected: Bool

    public init(_ request: Request) {
        clientID = request["from"]
        isConnected = !request.path.hasPrefix(Channels.disconnectedPath)
    }
}
