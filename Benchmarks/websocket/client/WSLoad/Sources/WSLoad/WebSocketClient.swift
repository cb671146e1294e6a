// The client side of RFC 6455 that the load clients need (one file, linked into ChannelLoad):
// the opening handshake, masked text frames out, and unmasked frames in.
#if canImport(Glibc)
import Glibc
#endif

enum Handshake {
    /// A fixed key is fine for a benchmark; its accept value is the RFC's example.
    static let key = "dGhlIHNhbXBsZSBub25jZQ=="
    static let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    static func request(host: String, port: Int, path: String) -> [UInt8] {
        Array("""
        GET \(path) HTTP/1.1\r
        Host: \(host):\(port)\r
        Upgrade: websocket\r
        Connection: Upgrade\r
        Sec-WebSocket-Key: \(key)\r
        Sec-WebSocket-Version: 13\r
        \r

        """.utf8)
    }

    /// Index just past the blank line that ends the response head, if it has arrived.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    /// Checks a complete response head: 101, the right accept value, and no extension
    /// (this client offers none, so a server must not answer with one).
    static func check(head: [UInt8]) throws {
        let text = String(decoding: head, as: UTF8.self)
        let lines = text.split(separator: "\r\n")
        guard let status = lines.first, status.hasPrefix("HTTP/1.1 101") else {
            throw Failure("handshake refused: \(lines.first.map(String.init) ?? "(no status line)")")
        }
        var accepted = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces
            if name == "sec-websocket-accept" { accepted = value == accept }
            if name == "sec-websocket-extensions" { throw Failure("server answered with extensions: \(value)") }
        }
        guard accepted else { throw Failure("handshake: missing or wrong Sec-WebSocket-Accept") }
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

enum Frame {
    /// A client frame (masked), FIN set. Payloads here are short (< 126 bytes) or medium (< 64 KiB).
    static func masked(opcode: UInt8, payload: [UInt8], mask: (UInt8, UInt8, UInt8, UInt8)) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            precondition(payload.count <= 0xFFFF)
            frame.append(0x80 | 126)
            frame.append(UInt8(payload.count >> 8))
            frame.append(UInt8(payload.count & 0xFF))
        }
        let key = [mask.0, mask.1, mask.2, mask.3]
        frame.append(contentsOf: key)
        for (i, byte) in payload.enumerated() { frame.append(byte ^ key[i & 3]) }
        return frame
    }

    struct Parsed {
        var opcode: UInt8
        var fin: Bool
        var payloadStart: Int
        var payloadLength: Int
        var end: Int { payloadStart + payloadLength }
    }

    /// Parses a server frame (unmasked) at the start of `bytes[from..<count]`; nil until it
    /// has all arrived.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, count: Int) throws -> Parsed? {
        let available = count - start
        guard available >= 2 else { return nil }
        let b0 = bytes[start], b1 = bytes[start + 1]
        if b1 & 0x80 != 0 { throw Failure("server sent a masked frame") }
        var length = Int(b1 & 0x7F)
        var header = 2
        if length == 126 {
            guard available >= 4 else { return nil }
            length = Int(bytes[start + 2]) << 8 | Int(bytes[start + 3])
            header = 4
        } else if length == 127 {
            guard available >= 10 else { return nil }
            length = 0
            for i in 2..<10 { length = length << 8 | Int(bytes[start + i]) }
            header = 10
            if length > 1 << 24 { throw Failure("server frame too large: \(length)") }
        }
        guard available >= header + length else { return nil }
        return Parsed(opcode: b0 & 0x0F, fin: b0 & 0x80 != 0, payloadStart: start + header, payloadLength: length)
    }
}
