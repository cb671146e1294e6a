public import Courier

/// A presence notification as the app's handler sees it (Java's `parsePresence`): the middleware
/// POSTs `from=<clientID>` to `/_ah/channel/connected/` or `/_ah/channel/disconnected/`.
public struct ChannelPresence: Sendable {
    /// The client that connected or disconnected (the `from` form field).
    public let clientID: String
    /// True for a connect, false for a disconnect, read from the path.
    public let isConnected: Bool

    /// Reads a presence POST; only meaningful in a handler for `Channels.connectedPath` or `disconnectedPath`.
    public init(_ request: Request) {
        clientID = request["from"]
        isConnected = !request.path.hasPrefix(Channels.disconnectedPath)
    }
}
