public import Courier
public import CourierChannel

/// A chat room on the Channel API. Each tab gets a client ID of its own, subscribed to the
/// room's topic, and hears every message and every join and leave through its channel. A
/// message's sender is the client whose token the page posts with it, never a name the form
/// gives: anyone can type a name, only the page holds its token.
///
/// `tokenSeconds` (1...86400), for tests: each page's token expires after that many seconds
/// instead of the default 120 minutes.
public func makeChat(channels: ChannelService, tokenSeconds: Int? = nil,
                     configuration: ServerConfiguration = ServerConfiguration()) throws -> Application {
    if let seconds = tokenSeconds, !(1...86_400).contains(seconds) {
        throw ApplicationError("--token-seconds must be 1...86400, got \(seconds)")
    }
    let room = Room(channels: channels)
    let app = Application(configuration: configuration)
    app.use(OriginCheck(), Channels(channels, presence: true))

    app.get("/") { _, response in
        let clientID = ChatClientID.random()
        let token = try tokenSeconds.map { try channels.createChannel(clientID: clientID, durationSeconds: $0) }
            ?? channels.createChannel(clientID: clientID)
        try room.subscribe(clientID)
        response.contentType = "text/html; charset=utf-8"
        response.write(ChatPage.render(clientID: clientID, token: token))
    }

    // A room message is at most 32,767 bytes, which percent-encoding makes at most three times
    // as many: a body beyond that cannot hold one and is refused (413) before it is read.
    app.post("/send", maxBodyBytes: 128 * 1024) { request, response in
        try SendRoute.post(request, room: room)
        response.status = .noContent
    }

    // Presence comes from the Channels middleware alone (the same paths from outside get 403),
    // so `from` here is trusted.
    app.post(Channels.connectedPath) { request, response in
        try room.announce(RoomEvent(kind: "join", from: request["from"]))
        response.status = .noContent
    }
    app.post(Channels.disconnectedPath) { request, response in
        try room.announce(RoomEvent(kind: "leave", from: request["from"]))
        response.status = .noContent
    }
    return app
}
