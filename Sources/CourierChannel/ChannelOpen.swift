import Courier

/// How a transport's request to open a channel ended.
enum ChannelOpenOutcome {
    case opened(clientID: String, attachment: ChannelAttachment)
    case refused(ChannelFailure)
}

extension ChannelService {
    /// The one way a transport opens a channel, WebSocket or long-poll: the token verified, the
    /// engine's attach, the connection it replaced ended (409), presence reported. `completion`
    /// runs on the connection's loop; the transport then announces the session and pumps.
    func open(_ connection: any ChannelConnection, token: String, resume: ChannelResume,
              completion: @escaping (ChannelOpenOutcome) -> Void) {
        let verified: (clientID: String, expiry: Double)
        do {
            verified = try signer.verify(token)
        } catch .expired {
            return completion(.refused(.tokenTimedOut))
        } catch {
            return completion(.refused(.invalidToken))
        }
        open(connection, verified: verified, resume: resume, completion: completion)
    }

    /// The same for a transport that has verified the token already (the long-poll endpoint,
    /// which needs the client ID to find the run a poll continues).
    func open(_ connection: any ChannelConnection, verified: (clientID: String, expiry: Double), resume: ChannelResume,
              completion: @escaping (ChannelOpenOutcome) -> Void) {
        engine.attach(connection, clientID: verified.clientID, tokenExpiry: verified.expiry, resume: resume) { [self] result in
            switch result {
            case .failure(.replaced): completion(.refused(.replaced))
            case .failure(.sessionLost): completion(.refused(.sessionLost))
            case .failure(.unavailable): completion(.refused(.unavailable))
            case .success(let attachment):
                attachment.replaced?.scheduleTerminate(code: ChannelFailure.replaced.code, description: ChannelFailure.replaced.description)
                reportPresence(of: attachment, clientID: verified.clientID)
                completion(.opened(clientID: verified.clientID, attachment: attachment))
            }
        }
    }
}
