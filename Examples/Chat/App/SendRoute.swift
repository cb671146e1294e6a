import Courier
import CourierChannel

/// `POST /send` with `token` (the page's channel token, in the form body: it never travels in
/// a URL) and `text`. The sender is the client the token was made for, so nobody can post as
/// anyone else.
enum SendRoute {
    static func post(_ request: Request, room: Room) throws {
        let token = request.formValue("token"), text = request["text"]
        guard !text.isEmpty, !token.isEmpty else {
            throw HTTPError(.badRequest, "Send needs `text` and the page's channel `token`.")
        }
        do {
            let sender = try room.channels.clientID(forToken: token)
            try room.announce(RoomEvent(kind: "message", from: sender, text: text))
        } catch let error as ChannelError {
            throw refusal(for: error)
        }
    }

    /// The channel's refusals are the sender's doing here (a stale page, a message too long),
    /// so they answer 4xx with the reason instead of the bare 500 an unknown error gets.
    static func refusal(for error: ChannelError) -> HTTPError {
        switch error {
        case .invalidMessage(let byteCount):
            HTTPError(.payloadTooLarge, """
                This message is too long: the room sends at most \(ChannelLimits.maxMessageBytes) bytes per message \
                (as JSON, with the sender's ID), and this one would be \(byteCount). Send a shorter one.
                """)
        case .invalidToken:
            HTTPError(.forbidden, "This page's channel token was not issued by this server: reload the page to rejoin.")
        case .expiredToken:
            HTTPError(.forbidden, "This page's channel has expired: reload the page to rejoin.")
        case .unavailable:
            HTTPError(.serviceUnavailable, "The room cannot send messages right now; try again in a moment.")
        case .invalidClientID, .invalidTopic, .invalidTokenDuration, .unencodableMessage, .invalidIdempotencyKey:
            // None comes from a request today (the client ID is one this server issued a token
            // for, the topic is fixed); should one, it is still this message that was refused.
            HTTPError(.badRequest, "The room refused this message: \(error)")
        }
    }
}
