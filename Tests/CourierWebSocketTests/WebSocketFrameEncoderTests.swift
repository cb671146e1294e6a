import CourierHTTP
import Testing

/// Server frames as bytes: RFC 6455 §5.2 headers, never masked.
@Suite struct WebSocketFrameEncoderTests {
    static func encode(_ opcode: WebSocketOpcode, count: Int, fin: Bool = true, compressed: Bool = false) -> [UInt8] {
        var buffer: [UInt8] = []
        WebSocketFrameEncoder.encode(opcode, payload: [UInt8](repeating: 0xAB, count: count), fin: fin, compressed: compressed, into: &buffer)
        return buffer
    }

    @Test func sevenBitLengths() {
        #expect(Self.encode(.text, count: 0) == [0x81, 0x00])
        #expect(Self.encode(.binary, count: 3) == [0x82, 0x03, 0xAB, 0xAB, 0xAB])
        #expect(Array(Self.encode(.binary, count: 125).prefix(2)) == [0x82, 125])
        #expect(Self.encode(.binary, count: 125).count == 127)
    }

    @Test func sixteenBitLengths() {
        #expect(Array(Self.encode(.binary, count: 126).prefix(4)) == [0x82, 126, 0x00, 126])
        #expect(Self.encode(.binary, count: 126).count == 4 + 126)
        #expect(Array(Self.encode(.binary, count: 65_535).prefix(4)) == [0x82, 126, 0xFF, 0xFF])
    }

    @Test func sixtyFourBitLengths() {
        #expect(Array(Self.encode(.binary, count: 65_536).prefix(10)) == [0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0])
        #expect(Self.encode(.binary, count: 65_536).count == 10 + 65_536)
        #expect(Array(Self.encode(.text, count: 1_000_000).prefix(10)) == [0x81, 127, 0, 0, 0, 0, 0, 0x0F, 0x42, 0x40])
    }

    @Test func flagsAndOpcodes() {
        #expect(Self.encode(.text, count: 0, fin: false) == [0x01, 0x00])
        #expect(Self.encode(.continuation, count: 0) == [0x80, 0x00])
        #expect(Self.encode(.text, count: 0, compressed: true) == [0xC1, 0x00])
        #expect(Self.encode(.close, count: 0) == [0x88, 0x00])
        #expect(Self.encode(.ping, count: 0) == [0x89, 0x00])
        #expect(Self.encode(.pong, count: 0) == [0x8A, 0x00])
    }

    @Test func framesAppendToTheBuffer() {
        var buffer: [UInt8] = [0xEE]
        WebSocketFrameEncoder.encode(.text, payload: Array("a".utf8), into: &buffer)
        WebSocketFrameEncoder.encode(.pong, payload: [], into: &buffer)
        #expect(buffer == [0xEE, 0x81, 0x01, 0x61, 0x8A, 0x00])
    }

    @Test func closePayloads() {
        #expect(WebSocketFrameEncoder.closePayload(code: nil, reason: "ignored") == [])
        #expect(WebSocketFrameEncoder.closePayload(code: 1000, reason: "") == [0x03, 0xE8])
        #expect(WebSocketFrameEncoder.closePayload(code: 4000, reason: "bye") == [0x0F, 0xA0, 0x62, 0x79, 0x65])
    }

    /// A control frame holds at most 125 bytes: the reason is cut, never inside a code point.
    @Test func longReasonIsCutOnACodePointBoundary() {
        let ascii = WebSocketFrameEncoder.closePayload(code: 1001, reason: String(repeating: "x", count: 200))
        #expect(ascii.count == 125)
        let accented = WebSocketFrameEncoder.closePayload(code: 1001, reason: String(repeating: "é", count: 62)) // 124 bytes
        #expect(accented.count == 2 + 122)
        #expect(String(validating: accented[2...], as: UTF8.self) == String(repeating: "é", count: 61))
        let emoji = WebSocketFrameEncoder.closePayload(code: 1001, reason: String(repeating: "😀", count: 40)) // 160 bytes
        #expect(emoji.count == 2 + 120)
        #expect(String(validating: emoji[2...], as: UTF8.self) == String(repeating: "😀", count: 30))
    }

    /// What the server encodes, the client-side reading of a frame gives back.
    @Test func encodedCloseFrameParsesBack() throws {
        var buffer: [UInt8] = []
        WebSocketFrameEncoder.encode(.close, payload: WebSocketFrameEncoder.closePayload(code: 1008, reason: "slow"), into: &buffer)
        #expect(buffer == [0x88, 0x06, 0x03, 0xF0] + Array("slow".utf8))
    }
}
