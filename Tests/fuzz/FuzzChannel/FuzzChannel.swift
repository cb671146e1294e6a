@testable import Courier
@testable import CourierChannel
import CourierHTTP
import Foundation
import FuzzSupport

/// What a channel client sends or holds: tokens (checked, tampered with, expired, under any
/// clock), the session cookie, the long-poll form fields (token, seq, session, cid), and the
/// JSON frames the server writes around any message text; and base64url, which both tokens
/// are written in. Invariants: no trap; a genuine token or cookie is accepted until it expires
/// and any change to it is refused (base64 has one spelling per byte string, so only the
/// genuine text passes); `seq` reads as the number its digits say; every frame is JSON that
/// decodes to what was put in.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.choice(6) {
    case 0: channelToken(&input)
    case 1: anyToken(&input)
    case 2: sessionCookie(&input)
    case 3: longPollFields(&input)
    case 4: frames(&input)
    default: base64(&input)
    }
    return 0
}

private let secret = Array("fuzzing-secret-of-32-bytes-long!".utf8)
/// Signs nothing: what `anyToken` checks text against.
private let unusedSecret = Array("a-secret-no-step-ever-signs-with".utf8)
/// The public way to check a token, made once: its engine is no part of what is fuzzed.
private let service = ChannelService(secret: secret, clock: FixedClock(seconds: 1_700_000_000))

/// A clock that reads whatever the input says.
private struct FixedClock: ChannelClock {
    let seconds: Double
    func now() -> Double { seconds }
}

private func seconds(_ input: inout FuzzInput) -> Double {
    switch input.choice(8) {
    case 0: .nan
    case 1: .infinity
    case 2: -.infinity
    case 3: -Double(input.byte())
    case 4: 0x1p64
    case 5: Double(UInt64.max)
    case 6: Double(bitPattern: input.uint64())
    default: 1_700_000_000 + Double(input.byte())
    }
}

/// Changes `text`: one byte replaced, inserted or removed, the text cut, or appended to.
private func tamper(_ text: String, _ input: inout FuzzInput) -> String {
    var bytes = Array(text.utf8)
    let position = bytes.isEmpty ? 0 : Int(input.byte()) * 256 % bytes.count
    switch input.choice(5) {
    case 0 where !bytes.isEmpty: bytes[position] = input.byte()
    case 1: bytes.insert(input.byte(), at: position)
    case 2 where !bytes.isEmpty: bytes.remove(at: position)
    case 3: bytes = Array(bytes.prefix(position))
    default: bytes += input.take(1 + input.choice(4))
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func channelToken(_ input: inout FuzzInput) {
    let issuedAt = seconds(&input)
    let duration = input.interestingInt()
    let clientID = String(decoding: input.take(input.choice(80)), as: UTF8.self)
    // The service issues tokens only for client IDs it accepts.
    guard (try? ChannelLimits.checkClientID(clientID)) != nil else { return }
    let issuer = TokenSigner(secret: secret, clock: FixedClock(seconds: issuedAt))
    let (token, expiry) = issuer.issue(clientID: clientID, durationSeconds: duration)
    let checkedAt = input.bool() ? issuedAt : seconds(&input)
    let checker = TokenSigner(secret: secret, clock: FixedClock(seconds: checkedAt))
    do throws(SignedTokenError) {
        let verified = try checker.verify(token)
        invariant(verified.clientID == clientID && verified.expiry == expiry, "token for '\(clientID)' read back as '\(verified.clientID)'")
    } catch .expired {
        invariant(checkedAt.isNaN || checkedAt >= 0, "a token expired at a negative time")
    } catch {
        invariant(false, "a genuine token refused as invalid")
    }
    // A token issued at a sane time for a positive duration is good right away.
    if issuedAt == checkedAt, issuedAt.isFinite, issuedAt >= 0, issuedAt < 1e15, duration > 0 {
        invariant((try? checker.verify(token)) != nil, "a fresh token refused (issued at \(issuedAt) for \(duration) s)")
    }
    let altered = tamper(token, &input)
    if altered != token {
        do throws(SignedTokenError) {
            _ = try checker.verify(altered)
            invariant(false, "tampered token accepted: '\(token)' -> '\(altered)'")
        } catch {
            invariant(error == .invalid, "a tampered token refused as \(error), not invalid")
        }
        do {
            _ = try service.clientID(forToken: altered)
            invariant(false, "tampered token owned: '\(altered)'")
        } catch {}
    }
    // Another secret's token is invalid, never expired.
    let foreign = TokenSigner(secret: Array(secret.reversed()), clock: FixedClock(seconds: issuedAt)).issue(clientID: clientID, durationSeconds: duration)
    do throws(SignedTokenError) {
        _ = try checker.verify(foreign.token)
        invariant(false, "a token of another secret accepted")
    } catch {
        invariant(error == .invalid, "a foreign token refused as \(error)")
    }
}

private func anyToken(_ input: inout FuzzInput) {
    let now = seconds(&input)
    let text = String(decoding: input.rest(), as: UTF8.self)
    // A secret no other step signs with: libFuzzer keeps the strings the other steps compare
    // and splices them into inputs, so a token or cookie genuinely issued under `secret` comes
    // back here as "arbitrary" text (it did: `fDQy.M2jX…`, the cookie of an empty email).
    let checker = TokenSigner(secret: unusedSecret, clock: FixedClock(seconds: now))
    invariant((try? checker.verify(text)) == nil, "arbitrary text accepted as a token: '\(text)'")
    invariant((try? SignedToken<SessionCookie.Claims>(secret: unusedSecret).verify(text, now: now)) == nil,
              "arbitrary text accepted as a cookie: '\(text)'")
    // The claims decoders read any payload a MAC could cover without trapping.
    let payload = Array(text.utf8)[...]
    // Once decoded, claims encode to a payload that decodes to them again (the first decoding
    // may replace bytes that are not UTF-8, or drop leading zeros, which a genuine token never has).
    if let claims = ChannelTokenClaims(decoding: payload) {
        let again = ChannelTokenClaims(decoding: claims.encoded()[...])
        invariant(again?.clientID == claims.clientID && again?.expiry == claims.expiry && again?.nonce == claims.nonce,
                  "channel claims do not survive encoding: '\(text)'")
    }
    if let claims = SessionCookie.Claims(decoding: payload) {
        let again = SessionCookie.Claims(decoding: claims.encoded()[...])
        invariant(again?.email == claims.email && again?.expiry == claims.expiry, "cookie claims do not survive encoding: '\(text)'")
    }
}

private func sessionCookie(_ input: inout FuzzInput) {
    let issuedAt = Int(clamping: Int64(bitPattern: input.interestingUInt64()))
    let lifetime = input.interestingInt()
    let checkedAt = input.bool() ? issuedAt : input.interestingInt()
    let email = String(decoding: input.take(input.choice(64)), as: UTF8.self)
    let users = Users(secret: secret, now: { checkedAt })
    let user = users.user(email: email)
    let value = users.cookie.value(for: user, now: issuedAt, lifetimeSeconds: lifetime)
    var request = Request(method: .get, target: "/", headers: ["Cookie": "a=b; \(users.cookieName)=\(value); c=d"])
    try? users.filter(&request)
    if let signedIn = request.user {
        invariant(signedIn == user, "cookie for \(user.email) read back as \(signedIn.email)")
    } else {
        let expiry = SignedToken<SessionCookie.Claims>.expiry(now: Double(issuedAt), lasting: lifetime)
        invariant(SignedToken<SessionCookie.Claims>.hasPassed(expiry, now: Double(checkedAt)), "a live cookie refused: '\(value)'")
    }
    let altered = tamper(value, &input)
    guard altered != value else { return }
    // What the cookie parser hands over may be the genuine value again (the change was after a
    // `;`, or was whitespace or quotes around it): only a different value must be refused.
    var forged = Request(method: .get, target: "/", headers: ["Cookie": "\(users.cookieName)=\(altered)"])
    guard let presented = forged.cookies[users.cookieName], presented != value else { return }
    try? users.filter(&forged)
    invariant(forged.user == nil, "tampered cookie accepted: '\(value)' -> '\(presented)'")
}

private func longPollFields(_ input: inout FuzzInput) {
    let seq = String(decoding: input.take(input.choice(32)), as: UTF8.self)
    let session = String(decoding: input.take(input.choice(32)), as: UTF8.self)
    let cid = String(decoding: input.take(input.choice(80)), as: UTF8.self)
    let token = String(decoding: input.take(input.choice(64)), as: UTF8.self)
    let extra = String(decoding: input.rest(), as: UTF8.self)
    let tokenInQuery = extra.hasPrefix("t")
    let body = URLEncoding.form([("token", token), ("seq", seq), ("session", session), ("cid", cid)]) + "&" + extra
    let target = tokenInQuery ? "/_ah/channel/poll?token=x" : "/_ah/channel/poll"
    let request = Request(method: .post, target: target, headers: ["Content-Type": "application/x-www-form-urlencoded"],
                          body: Array(body.utf8))
    invariant(request.formValue("token") == token, "token read as '\(request.formValue("token"))', sent '\(token)'")
    invariant(request["seq"] == seq && request["session"] == session && request["cid"] == cid, "a poll field read back differently: seq '\(request["seq"])' for '\(seq)', session '\(request["session"])' for '\(session)', cid '\(request["cid"])' for '\(cid)', body '\(body)'")
    invariant(request.queryContains("token") == tokenInQuery, "a token in the query not seen")
    // `seq`: empty is 0, digits their value (past UInt64.max, the maximum), anything else refused.
    let expected: UInt64?
    if seq.isEmpty {
        expected = 0
    } else if seq.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
        var value: UInt64 = 0
        var overflow = false
        for digit in seq.utf8 {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(digit - 0x30))
            overflow = overflow || o1 || o2
            value = sum
        }
        expected = overflow ? .max : value
    } else {
        expected = nil
    }
    invariant(LongPollEndpoint.sequenceNumber(seq) == expected, "seq '\(seq)' read as \(String(describing: LongPollEndpoint.sequenceNumber(seq)))")
    // `topics`: whatever the text, a bounded map of whole numbers or a refusal, never a trap.
    if let offsets = LongPollEndpoint.topicOffsets(extra) {
        invariant(offsets.count <= ChannelResume.maxTopics, "\(offsets.count) topic offsets accepted")
    }
}

private struct MessageFrame: Decodable {
    let type: String
    let seq: UInt64
    let data: String
}

private struct TopicFrame: Decodable {
    let type: String
    let topic: String
    let seq: UInt64
    let data: String
}

private struct ErrorFrame: Decodable {
    let type: String
    let code: Int
    let description: String
}

private func frames(_ input: inout FuzzInput) {
    let seq = input.interestingUInt64()
    let code = input.interestingInt()
    let text = String(decoding: input.rest(), as: UTF8.self)
    let payload = ChannelPayload(text, time: 0)
    let message = ChannelFrames.message(seq: seq, payload: payload)
    invariant(message.utf8.count == ChannelFrames.messageByteCount(seq: seq, payload: payload), "message frame length announced wrong")
    guard let decoded = try? JSONDecoder().decode(MessageFrame.self, from: Data(message.utf8)) else {
        return invariant(false, "message frame is not JSON: \(message)")
    }
    invariant(decoded.type == "message" && decoded.seq == seq && decoded.data == text, "message frame reads back differently: \(message)")
    // A topic's frame (the Redis engine), the topic any text too.
    let split = text.utf8.count / 3
    let topic = String(decoding: text.utf8.prefix(split), as: UTF8.self)
    let topicPayload = ChannelPayload(text, time: 0, topic: topic)
    let topicMessage = ChannelFrames.message(seq: seq, payload: topicPayload)
    invariant(topicMessage.utf8.count == ChannelFrames.messageByteCount(seq: seq, payload: topicPayload), "topic frame length announced wrong")
    guard let decodedTopic = try? JSONDecoder().decode(TopicFrame.self, from: Data(topicMessage.utf8)) else {
        return invariant(false, "topic frame is not JSON: \(topicMessage)")
    }
    invariant(decodedTopic.topic == topic && decodedTopic.seq == seq && decodedTopic.data == text, "topic frame reads back differently: \(topicMessage)")
    let error = ChannelFrames.error(code: code, description: text)
    guard let decodedError = try? JSONDecoder().decode(ErrorFrame.self, from: Data(error.utf8)) else {
        return invariant(false, "error frame is not JSON: \(error)")
    }
    invariant(decodedError.code == code && decodedError.description == text, "error frame reads back differently: \(error)")
}

private func base64(_ input: inout FuzzInput) {
    let bytes = input.rest()
    invariant(Base64URL.decode(Base64URL.encode(bytes)) == bytes, "base64url round trip")
    invariant(Base64.decode(Base64.encode(bytes)) == bytes, "base64 round trip")
    // One spelling per byte string: whatever decodes encodes back to itself.
    let text = String(decoding: bytes, as: UTF8.self)
    if let decoded = Base64URL.decode(text) { invariant(Base64URL.encode(decoded) == text, "base64url '\(text)' is not canonical") }
    if let decoded = Base64.decode(text) { invariant(Base64.encode(decoded) == text, "base64 '\(text)' is not canonical") }
}
