import Courier
import Foundation

/// The HTTP side of long-polling: POST /_ah/channel/poll and /_ah/channel/close, with the token
/// in the form body (never in the URL).
enum LongPollEndpoint {
    static func poll(_ request: Request, _ response: inout Response, service: ChannelService) async throws {
        let cid = request["cid"]
        // A token in a URL ends up in logs and referrers (section 2): refused, not read.
        guard !cid.isEmpty, cid.utf8.count <= 64, !request.queryContains("token"), let loop = request.loop else {
            return reply(&response, .badRequest)
        }
        let token = request.formValue("token")
        let verified: (clientID: String, expiry: Double)
        do {
            verified = try service.signer.verify(token)
        } catch .expired {
            return reply(&response, .tokenTimedOut)
        } catch {
            return reply(&response, .invalidToken)
        }
        guard let claimed = sequenceNumber(request["seq"]), let topics = topicOffsets(request["topics"]) else {
            return reply(&response, .badRequest)
        }
        service.releasePollsOnDrain(of: loop)
        let connection: LongPollConnection
        var seen = claimed
        var topicsSeen = topics
        let clientID = verified.clientID
        if let existing = service.longPolls.connection(of: clientID, cid: cid) {
            connection = existing
        } else {
            service.ensureSweeper(on: loop)
            let created = LongPollConnection(loop: loop, connectionID: cid, clientID: clientID, service: service)
            let resume = ChannelResume(sessionID: request["session"], lastSeq: claimed, topics: topics)
            let outcome = await withCheckedContinuation { continuation in
                service.open(created, verified: verified, resume: resume) { continuation.resume(returning: $0) }
            }
            guard case .opened(_, let attachment) = outcome else {
                if case .refused(let failure) = outcome { reply(&response, failure) }
                return
            }
            created.prime(cursor: attachment.cursor, topics: resume.isFresh ? [:] : topics,
                          opened: ChannelFrames.opened(sessionID: attachment.sessionID, seq: attachment.lastSeq))
            service.longPolls.register(created)
            created.countOpen()
            connection = created
            // A fresh open starts where the engine put it, whatever the client's stale `seq` says.
            seen = attachment.cursor
            if resume.isFresh { topicsSeen = [:] }
        }
        let answer = await connection.poll(seen: seen, topics: topicsSeen, on: loop)
        reply(&response, status: answer.status, answer.frames)
    }

    static func close(_ request: Request, service: ChannelService) {
        guard !request.queryContains("token"), let verified = try? service.signer.verify(request.formValue("token")),
              let connection = service.longPolls.connection(of: verified.clientID, cid: request["cid"]) else { return }
        connection.end(with: [])
        if service.engine.detach(connection, clientID: verified.clientID, deliberate: true) {
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

    /// The client's `topics`: a JSON object of topic to the last offset seen in it (messages an
    /// engine numbers per topic), absent or empty for none; nil (400) when it is anything else,
    /// names more than `ChannelResume.maxTopics`, or an offset is not a whole number in range.
    static func topicOffsets(_ text: String) -> [String: UInt64]? {
        if text.isEmpty { return [:] }
        guard let offsets = try? JSONDecoder().decode([String: UInt64].self, from: Data(text.utf8)),
              offsets.count <= ChannelResume.maxTopics else { return nil }
        return offsets
    }

    /// A refusal: its status and error frame; for an engine that cannot reach its store, 503
    /// and no frame, so the client treats it as a dropped poll and retries with backoff.
    private static func reply(_ response: inout Response, _ failure: ChannelFailure) {
        reply(&response, status: HTTPStatus(code: failure.code), failure == .unavailable ? [] : [failure.frame])
    }

    private static func reply(_ response: inout Response, status: HTTPStatus, _ frames: [String]) {
        response.status = status
        response.contentType = "application/json"
        response.headers.set("Cache-Control", "no-store")
        response.write("[" + frames.joined(separator: ",") + "]")
    }
}
