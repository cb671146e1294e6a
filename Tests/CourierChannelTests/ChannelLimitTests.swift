import Courier
import CourierChannel
import CourierTesting
import Foundation
import Testing

/// Section 1 of CHANNEL_API.md: the limits and errors of the server API.
@Suite struct ChannelLimitTests {
    let service = ChannelService(secret: testSecret, settings: testSettings(), clock: ManualClock())

    @Test func emptyOrOverlongClientIDIsRefused() throws {
        #expect(throws: ChannelError.invalidClientID("")) { try service.createChannel(clientID: "") }
        let long = String(repeating: "x", count: 257)
        #expect(throws: ChannelError.invalidClientID(long)) { try service.createChannel(clientID: long) }
        // 256 bytes counted in UTF-8, not characters: 128 two-byte characters pass, 129 do not.
        _ = try service.createChannel(clientID: String(repeating: "x", count: 256))
        _ = try service.createChannel(clientID: String(repeating: "é", count: 128))
        let wide = String(repeating: "é", count: 129)
        #expect(throws: ChannelError.invalidClientID(wide)) { try service.createChannel(clientID: wide) }
        #expect(throws: ChannelError.invalidClientID("")) { try service.sendMessage(clientID: "", message: "hi") }
        #expect(throws: ChannelError.invalidClientID(long)) { try service.sendMessage(clientID: long, message: "hi") }
    }

    @Test func durationOutsideOneToFourteenFortyIsRefused() throws {
        #expect(throws: ChannelError.invalidTokenDuration(0)) { try service.createChannel(clientID: "a", durationMinutes: 0) }
        #expect(throws: ChannelError.invalidTokenDuration(1441)) { try service.createChannel(clientID: "a", durationMinutes: 1441) }
        #expect(throws: ChannelError.invalidTokenDuration(-5)) { try service.createChannel(clientID: "a", durationMinutes: -5) }
        #expect(try !service.createChannel(clientID: "a", durationMinutes: 1).isEmpty)
        #expect(try !service.createChannel(clientID: "a", durationMinutes: 1440).isEmpty)
        #expect(try !service.createChannel(clientID: "a").isEmpty)
    }

    @Test func durationInSecondsMustBeOneSecondToOneDay() throws {
        #expect(throws: ChannelError.invalidTokenDuration(0)) { try service.createChannel(clientID: "a", durationSeconds: 0) }
        #expect(throws: ChannelError.invalidTokenDuration(-1)) { try service.createChannel(clientID: "a", durationSeconds: -60) }
        #expect(throws: ChannelError.invalidTokenDuration(1441)) { try service.createChannel(clientID: "a", durationSeconds: 86_401) }
        #expect(throws: ChannelError.invalidClientID("")) { try service.createChannel(clientID: "", durationSeconds: 5) }
        #expect(try !service.createChannel(clientID: "a", durationSeconds: 1).isEmpty)
        #expect(try !service.createChannel(clientID: "a", durationSeconds: 86_400).isEmpty)
    }

    @Test func messageMustBeOneTo32767Bytes() throws {
        #expect(throws: ChannelError.invalidMessage(byteCount: 0)) { try service.sendMessage(clientID: "a", message: "") }
        let tooLong = String(repeating: "m", count: 32_768)
        #expect(throws: ChannelError.invalidMessage(byteCount: 32_768)) { try service.sendMessage(clientID: "a", message: tooLong) }
        // Counted in UTF-8 bytes: 16384 two-byte characters are 32768 bytes.
        let wide = String(repeating: "é", count: 16_384)
        #expect(throws: ChannelError.invalidMessage(byteCount: 32_768)) { try service.sendMessage(clientID: "a", message: wide) }
        try service.sendMessage(clientID: "a", message: String(repeating: "m", count: 32_767))
    }

    @Test func sendingToNobodyDoesNotThrow() throws {
        try service.sendMessage(clientID: "nobody-here", message: "hello?")
    }

    @Test func errorsCarryReadableMessages() {
        #expect(ChannelError.invalidClientID("").description.contains("256"))
        #expect(ChannelError.invalidTokenDuration(0).description.contains("1...1440"))
        #expect(ChannelError.invalidMessage(byteCount: 0).description.contains("32767"))
        // The same words through Foundation's `localizedDescription`, not its generic text.
        let error: any Error = ChannelError.invalidClientID("")
        #expect(error.localizedDescription == ChannelError.invalidClientID("").description)
    }

    /// Section 3: the client library is `text/javascript`, never cached, with the original's names.
    @Test func theJavaScriptClientIsServedAsSection3Says() async throws {
        try await withChannelServer(service) { port in
            let response = try await TestClient(port: port).get("/_ah/channel/jsapi")
            #expect(response.status == 200)
            #expect(response.headers["Content-Type"] == "text/javascript")
            #expect(response.headers["Cache-Control"] == "no-cache")
            #expect(response.text.contains("ae.Channel = Channel") && response.text.contains("Socket.ReadyState = S"))
            #expect(response.body.count < 8 * 1024)
        }
    }

    /// `sendJSON` throws `ChannelError` like the rest, also when the value cannot be encoded.
    @Test func sendJSONOfAnUnencodableValueIsAChannelError() {
        #expect(throws: ChannelError.self) { try service.sendJSON(clientID: "json", Double.nan) }
        let error = #expect(throws: ChannelError.self) { try service.sendJSON(clientID: "json", ["x": Double.infinity]) }
        #expect(error?.description.hasPrefix("the message could not be encoded as JSON") == true)
        #expect(throws: ChannelError.invalidMessage(byteCount: 32_769)) {
            try service.sendJSON(clientID: "json", String(repeating: "y", count: 32_767))
        }
    }

    @Test func aClientIDMayHaveManyTokens() throws {
        let first = try service.createChannel(clientID: "many")
        let second = try service.createChannel(clientID: "many")
        #expect(first != second)
    }
}
