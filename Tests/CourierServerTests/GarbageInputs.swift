/// Random request-shaped bytes: valid requests with a few mutations, and plain noise.
enum GarbageInputs {
    static let seeds: [String] = [
        request("/hello"),
        request("/n/7", headers: ["Connection: close"]),
        request("HEAD", "/hello"),
        request("POST", "/echo", body: "some body"),
        request("POST", "/echo", headers: ["Transfer-Encoding: chunked"], body: "4\r\nbody\r\n0\r\n\r\n"),
        request("POST", "/small", headers: ["Expect: 100-continue"], body: "0123"),
        request("/stream"),
        "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        request("/hello") + request("/n/2") + request("POST", "/echo", body: "xy"),
    ]

    static func make(using generator: inout SplitMix64) -> [UInt8] {
        if Int.random(in: 0..<10, using: &generator) == 0 {
            return (0..<Int.random(in: 0...600, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        var bytes = Array(seeds.randomElement(using: &generator)!.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            mutate(&bytes, using: &generator)
        }
        return bytes
    }

    private static let interesting: [UInt8] = [0x00, 0x0D, 0x0A, 0x20, 0x09, 0x3A, 0x3B, 0x2C, 0x7F, 0xFF, 0x30, 0x66]

    private static func mutate(_ bytes: inout [UInt8], using generator: inout SplitMix64) {
        guard !bytes.isEmpty else { return }
        let at = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: bytes[at] = UInt8.random(in: 0...255, using: &generator)
        case 1: bytes[at] = interesting.randomElement(using: &generator)!
        case 2: bytes.insert(interesting.randomElement(using: &generator)!, at: at)
        case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...8, using: &generator)))
        case 4: bytes.removeSubrange(at...)
        default:
            let end = min(bytes.count, at + Int.random(in: 1...32, using: &generator))
            bytes.insert(contentsOf: bytes[at..<end], at: at)
        }
    }
}
