import Courier

/// The HTTP side of long-polling: POST /_ah/channel/poll and /_ah/channel/close, with the token
/// in the form body (never in the URL).
enum LongPollEndpoint {
    static func poll(_ request: Request, _ response: inout Response, service: ChannelService) async throws {
        let cid = request["cid"]
        // A token in a URL ends up in logs and referrers (section 2): refused, not read.
        guard !cid.isEmpty, cid.utf8.count <= 64, !request.queryContains("token"), let loop = request.loop else {
            return reply(&response, status: .badRequest, [ChannelFrames.error(code: 400, description: ChannelFailure.badRequest.description)])
        }
        let verified: (clientID: String, expiry: Double)
        do {
            verified = try service.signer.verify(request.formValue("token"))
        } catch .expired {
            return reply(&response, status: .unauthorized, [ChannelFrames.error(code: 401, description: ChannelFailure.tokenTimedOut.description)])
        } catch {
            return reply(&response, status: .unauthorized, [ChannelFrames.error(code: 401, description: ChannelFailure.invalidToken.description)])
        }
        guard let claimed = sequenceNumber(request["seq"]) else {
            return reply(&response, status: .badRequest, [ChannelFrames.error(code: 400, description: ChannelFailure.badRequest.description)])
        }
        var seen = claimed
        service.releasePollsOnDrain(of: loop)
        let connection: LongPollConnection
        if let existing = service.hub.connection(of: verified.clientID) as? LongPollConnection, existing.connectionID == cid {
            connection = existing
        } else {
            service.ensureSweeper(on: loop)
            let session = request["session"]
            let created = LongPollConnection(loop: loop, connectionID: cid, clientID: verified.clientID, service: service)
            let attached: ChannelHub.Attached
            do {
                attached = try service.hub.attach(created, clientID: verified.clientID, tokenExpiry: verified.expiry,
                                                  resume: (session, seen))
            } catch .replaced {
                return reply(&response, status: .conflict, [ChannelFrames.error(code: 409, description: ChannelFailure.replaced.description)])
            } catch {
                return reply(&response, status: .gone, [ChannelFrames.error(code: 410, description: ChannelFailure.sessionLost.description)])
            }
            created.prime(cursor: attached.cursor, opened: ChannelFrames.opened(sessionID: attached.sessionID, seq: attached.lastSeq))
            connection = created
            // A fresh open starts where the hub put it, whatever the client's stale `seq` says.
            seen = attached.cursor
            attached.replaced?.scheduleTerminate(code: ChannelFailure.replaced.code, description: ChannelFailure.replaced.description)
            service.reportPresence(of: attached, clientID: verified.clientID)
        }
        let answer = await connection.poll(seen: seen)
        reply(&response, status: answer.status, answer.frames)
    }

    static func close(_ request: Request, service: ChannelService) {
        guard !request.queryContains("token"), let verified = try? service.signer.verify(request.formValue("token")),
              let connection = service.hub.connection(of: verified.clientID) as? LongPollConnection,
              connection.connectionID == request["cid"] else { return }
        connection.end(with: [])
        if service.hub.detach(connection, clientID: verified.clientID, deliberate: true) {
            service.reportPresence(verified.clientID, connected: false)
        }
    }

    /// The client's `seq`: absent is 0; anything but decimal digits is refused (nil). Digits
    /// past `UInt64.max` are a number no session ever reached, so they read as that maximum,
    /// which the hub then refuses as a lost session (410), as the WebSocket open does.
    static func sequenceNumber(_ text: String) -> UInt64? {
        if text.isEmpty { return 0 }
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return UInt64(text) ?? .max
    }

    private static func reply(_ response: inout Response, status: HTTPStatus, _ frames: [String]) {
        response.status = status
        response.contentType = "application/json"
        response.headers.set("Cache-Control", "no-store")
        response.write("[" + frames.joined(separator: ",") + "]")
    }
}
