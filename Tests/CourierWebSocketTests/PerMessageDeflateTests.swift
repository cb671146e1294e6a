import CourierHTTP
import Testing

/// permessage-deflate (RFC 7692): negotiation, and compression checked against the RFC's bytes.
@Suite struct PerMessageDeflateTests {
    static func negotiate(_ offers: String...) -> PerMessageDeflateParameters? {
        PerMessageDeflateParameters.negotiate(offers: offers)
    }

    @Test func plainOfferIsAcceptedWithDefaults() throws {
        let accepted = try #require(Self.negotiate("permessage-deflate"))
        #expect(accepted == PerMessageDeflateParameters())
        #expect(accepted.responseHeaderValue == "permessage-deflate")
        #expect(accepted.serverMaxWindowBits == 15)
    }

    @Test func contextTakeoverAndWindowParametersAreHonoured() throws {
        let accepted = try #require(Self.negotiate(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits"))
        #expect(accepted.serverNoContextTakeover)
        #expect(accepted.clientNoContextTakeover)
        #expect(accepted.serverMaxWindowBits == 10)
        #expect(accepted.responseHeaderValue
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
    }

    /// The server's default: no window outlives a message in either direction, said in the
    /// answer whatever the offer held (RFC 7692 lets a server add both), the window size kept.
    @Test func withoutContextTakeoverTheAnswerForbidsItBothWays() throws {
        let plain = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; client_max_window_bits"],
                                                                      contextTakeover: false))
        #expect(plain.responseHeaderValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        let sized = try #require(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; server_max_window_bits=10"],
                                                                      contextTakeover: false))
        #expect(sized.responseHeaderValue
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
        #expect(PerMessageDeflateParameters.negotiate(offers: ["permessage-deflate; server_max_window_bits=8"],
                                                      contextTakeover: false) == nil)
    }

    @Test func quotedValuesAndSpacesAreAccepted() throws {
        let accepted = try #require(Self.negotiate("permessage-deflate ;server_max_window_bits=\"12\" ; client_max_window_bits=9"))
        #expect(accepted.serverMaxWindowBits == 12)
    }

    @Test(arguments: [
        "permessage-deflate; server_max_window_bits=8",   // zlib cannot honour 8
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; mystery_parameter",
        "x-webkit-deflate-frame",
        "",
    ])
    func unacceptableOffersAreDeclined(offer: String) {
        #expect(Self.negotiate(offer) == nil)
    }

    /// Offers are tried in order, whether in one header or several.
    @Test func firstAcceptableOfferWins() throws {
        let inOneHeader = try #require(Self.negotiate("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=11"))
        #expect(inOneHeader.serverMaxWindowBits == 11)
        let inTwoHeaders = try #require(Self.negotiate("x-other", "permessage-deflate; bogus", "permessage-deflate; server_no_context_takeover"))
        #expect(inTwoHeaders.serverNoContextTakeover)
        #expect(Self.negotiate() == nil)
    }

    // MARK: Compression

    static func deflate(_ configure: (inout PerMessageDeflateParameters) -> Void = { _ in }) -> PerMessageDeflate {
        var parameters = PerMessageDeflateParameters()
        configure(&parameters)
        return PerMessageDeflate(parameters: parameters)
    }

    /// RFC 7692 §7.2.3.1 and §7.2.3.2: "Hello", then "Hello" again sharing the LZ77 window.
    @Test func compressesTheRFCExamplesByteForByte() {
        let shared = Self.deflate()
        #expect(shared.compress(Array("Hello".utf8)) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(shared.compress(Array("Hello".utf8)) == [0xF2, 0x00, 0x11, 0x00, 0x00])
        let fresh = Self.deflate { $0.serverNoContextTakeover = true }
        #expect(fresh.compress(Array("Hello".utf8)) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
        #expect(fresh.compress(Array("Hello".utf8)) == [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])
    }

    /// RFC 7692 §7.2.3.3 (an uncompressed block) and §7.2.3.1 decode to "Hello".
    @Test func decompressesTheRFCExamples() throws {
        #expect(try Self.deflate().decompress([0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00], limit: 100) == Array("Hello".utf8))
        #expect(try Self.deflate().decompress([0x00, 0x05, 0x00, 0xFA, 0xFF, 0x48, 0x65, 0x6C, 0x6C, 0x6F, 0x00], limit: 100)
                == Array("Hello".utf8))
        // §7.2.3.4: the same message split in two DEFLATE blocks.
        #expect(try Self.deflate().decompress([0xF2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xCA, 0xC9, 0xC9, 0x07, 0x00], limit: 100)
                == Array("Hello".utf8))
    }

    @Test func emptyMessageRoundTrips() throws {
        let empty = Self.deflate().compress([])
        #expect(empty == [0x00])
        #expect(try Self.deflate().decompress(empty, limit: 10) == [])
    }

    /// Many messages through one sender and one receiver, with and without context takeover.
    @Test(arguments: [false, true])
    func messagesRoundTrip(noContextTakeover: Bool) throws {
        let sender = Self.deflate { $0.serverNoContextTakeover = noContextTakeover }
        let receiver = Self.deflate { $0.clientNoContextTakeover = noContextTakeover }
        var generator = SystemRandomNumberGenerator()
        for index in 0..<20 {
            let repetitive = Array(String(repeating: "message \(index % 3) is repetitive; ", count: index * 10).utf8)
            let random = (0..<(index * 500)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for message in [repetitive, random] {
                let compressed = sender.compress(message)
                #expect(try receiver.decompress(compressed, limit: 1 << 20) == message)
            }
        }
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 * $0 >> 7) }
        #expect(try receiver.decompress(sender.compress(big), limit: 1 << 20) == big)
        // Inflating one that large ends in Z_BUF_ERROR (input used up), which is no failure:
        // with context takeover the next message still refers back into the kept window.
        let after = Array(String(repeating: "after the big one; ", count: 4_000).utf8)
        for _ in 0..<3 { #expect(try receiver.decompress(sender.compress(after), limit: 1 << 20) == after) }
    }

    /// Connections of one loop take turns with its streams: interleaved messages of several,
    /// a failed one among them, come out exactly as each went in.
    @Test func connectionsSharingStreamsStayIndependent() throws {
        let shared = SharedDeflateStreams()
        var fresh = PerMessageDeflateParameters()
        fresh.serverNoContextTakeover = true
        fresh.clientNoContextTakeover = true
        let connections = (0..<3).map { _ in PerMessageDeflate(parameters: fresh, shared: shared) }
        let peer = PerMessageDeflate(parameters: fresh)
        #expect(throws: WebSocketProtocolError.self) { try connections[0].decompress([0xFF, 0xFF, 0xFF, 0x12], limit: 1 << 20) }
        for round in 0..<5 {
            for (index, connection) in connections.enumerated() {
                let message = Array(String(repeating: "connection \(index) round \(round); ", count: 200 * (index + 1)).utf8)
                #expect(try connection.decompress(peer.compress(message), limit: 1 << 20) == message)
                #expect(try peer.decompress(connection.compress(message), limit: 1 << 20) == message)
            }
        }
    }

    @Test(arguments: [9, 12, 15])
    func smallerServerWindowsRoundTrip(bits: Int) throws {
        let sender = Self.deflate { $0.serverMaxWindowBits = bits }
        let receiver = Self.deflate()
        let message = Array(String(repeating: "window test ", count: 5_000).utf8)
        for _ in 0..<3 { #expect(try receiver.decompress(sender.compress(message), limit: 1 << 20) == message) }
    }

    @Test func inflatingPastTheLimitIs1009() {
        let bomb = Self.deflate().compress([UInt8](repeating: 0, count: 2_000_000))
        #expect(bomb.count < 10_000)
        let error = #expect(throws: WebSocketProtocolError.self) { _ = try Self.deflate().decompress(bomb, limit: 64 * 1024) }
        #expect(error?.code == 1009)
        #expect(throws: Never.self) { _ = try Self.deflate().decompress(Self.deflate().compress([UInt8](repeating: 0, count: 1000)), limit: 1000) }
    }

    @Test func corruptDataIs1007() {
        let error = #expect(throws: WebSocketProtocolError.self) { _ = try Self.deflate().decompress([0xFF, 0xFF, 0xFF], limit: 100) }
        #expect(error?.code == 1007)
    }
}
