import CLibUV
import Glibc

/// Numeric IPv4/IPv6 addresses only ("localhost" is loopback): a server binds to an address it
/// was given, and never waits on a resolver.
enum SocketAddress {
    static func fill(_ storage: inout sockaddr_storage, host: String, port: Int) throws(UVError) {
        // Checked before `Int32(port)`, which would trap past Int32's range.
        guard (0...65535).contains(port) else { throw UVError(code: -EINVAL, operation: "address \(host):\(port)") }
        let name = host == "localhost" ? "127.0.0.1" : host
        let status: Int32
        if name.contains(":") {
            status = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { uv_ip6_addr(name, Int32(port), $0) }
            }
        } else {
            status = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { uv_ip4_addr(name, Int32(port), $0) }
            }
        }
        try UVError.check(status, "address \(host):\(port)")
    }

    static func describe(_ storage: sockaddr_storage) -> String {
        var storage = storage
        var text = [CChar](repeating: 0, count: 64)
        if Int32(storage.ss_family) == AF_INET6 {
            let port = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    uv_ip6_name(address, &text, text.count)
                    return UInt16(bigEndian: address.pointee.sin6_port)
                }
            }
            return "[\(string(text))]:\(port)"
        }
        let port = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                uv_ip4_name(address, &text, text.count)
                return UInt16(bigEndian: address.pointee.sin_port)
            }
        }
        return "\(string(text)):\(port)"
    }

    private static func string(_ text: [CChar]) -> String {
        let bytes = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func length(of storage: sockaddr_storage) -> socklen_t {
        socklen_t(Int32(storage.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    }
}
