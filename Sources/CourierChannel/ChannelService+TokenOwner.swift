extension ChannelService {
    /// The client ID a token from this service was made for. A page holds its token and nobody
    /// else's, so a request that carries it proves which client sent it, where a client ID the
    /// request merely names proves nothing (Chat's `POST /send` takes the sender from here).
    /// Throws `invalidToken` for a token this service (or its secret) never issued, or one
    /// altered, and `expiredToken` for a genuine one whose time is up.
    public func clientID(forToken token: String) throws(ChannelError) -> String {
        do {
            return try signer.verify(token).clientID
        } catch {
            switch error {
            case .expired: throw .expiredToken
            case .invalid: throw .invalidToken
            }
        }
    }
}
