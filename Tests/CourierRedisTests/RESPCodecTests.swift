@testable import CourierRedis
import Testing

@Suite struct RESPCodecTests {
    private func decodeAll(_ wire: String, chunk: Int = 1) throws -> [RESPValue] {
        let bytes = Array(wire.utf8)
        let decoder = RESPDecoder()
        var values: [RESPValue] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + chunk, bytes.count)
            try Array(bytes[start..<end]).withUnsafeBytes { buffer in try decoder.feed(buffer) }
            while let value = try decoder.next() { values.append(value) }
            start = end
        }
        return values
    }

    @Test func everyReplyKindDecodesEvenByteByByte() throws {
        let wire = "+OK\r\n-ERR bad\r\n:-42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"
            + "*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n*1\r\n-WRONGTYPE nested\r\n"
        let expected: [RESPValue] = [
            .simpleString("OK"), .error("ERR bad"), .integer(-42), .bulk(Array("he\r\nl".utf8)), .null, .null, .array([]),
            .bulk([]), .array([.integer(1), .array([.bulk([UInt8(ascii: "x")]), .null]), .array([.error("WRONGTYPE nested")])]),
        ]
        #expect(try decodeAll(wire, chunk: 1) == expected)
        #expect(try decodeAll(wire, chunk: 7) == expected)
        #expect(try decodeAll(wire, chunk: 4_096) == expected)
    }

    @Test func garbageIsAProtocolError() {
        #expect(throws: RedisError.self) { try decodeAll("?what\r\n") }
    }

    @Test func commandsAreBinarySafe() {
        let all = (0...255).map { UInt8($0) }
        let encoded = RESPEncoder.encode([Array("SET".utf8), [], all])
        let expected = Array("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$256\r\n".utf8) + all + Array("\r\n".utf8)
        #expect(encoded == expected)
        for arguments in [[Array("PING".utf8)], [Array("A".utf8), [], Array(repeating: 7, count: 12_345)],
                          Array(repeating: Array("x".utf8), count: 11)] {
            #expect(RESPEncoder.encodedSize(arguments) == RESPEncoder.encode(arguments).count)
        }
    }

    @Test func accessorsConvert() {
        #expect(RESPValue.bulk(Array("17".utf8)).int == 17)
        #expect(RESPValue.bulk(Array("-9223372036854775808".utf8)).int == Int.min)
        #expect(RESPValue.bulk(Array("9223372036854775808".utf8)).int == nil)
        #expect(RESPValue.bulk(Array("+1".utf8)).int == nil)
        #expect(RESPValue.bulk([0xFF]).string == nil)
        #expect(RESPValue.bulk([0xFF]).bytes == [0xFF])
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.error("E").errorMessage == "E")
    }
}
