@testable import CourierHTTP
import FuzzSupport

/// What a client (or a proxy passing its fields on) controls of a request's source: the
/// `X-Forwarded-*` and `Forwarded` fields, and what an operator types for `--trusted-proxy`.
/// Whatever the bytes: no trap; an untrusted peer's fields change nothing; the scheme is http or
/// https; a forwarded host is a valid Host value; an address read prints as text that reads back
/// to the same address; a range contains its own network.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.choice(3) {
    case 0: addresses(&input)
    case 1: ranges(&input)
    default: fields(&input)
    }
    return 0
}

private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

private func addresses(_ input: inout FuzzInput) {
    let written = text(input.rest())
    guard let address = IPAddress(written) else { return }
    invariant(IPAddress(address.description) == address, "'\(written)' read as \(address), which reads back otherwise")
    invariant(address.description.utf8.count <= IPAddress.maxTextBytes, "\(address) printed too long")
}

private func ranges(_ input: inout FuzzInput) {
    let written = text(input.rest())
    do {
        let range = try IPAddressRange(parsing: written)
        invariant(range.contains(range.network), "\(range) does not contain its network")
        invariant((try? IPAddressRange(parsing: range.description)) == range, "\(range) does not read back")
    } catch {
        invariant(error.description.utf8.count < 300, "an error message quoting too much: \(error.description.prefix(80))")
    }
}

/// Decisions: how many fields (0...7) and, for each, which name; then the values, separated by
/// NUL bytes; the peer's address is the first value.
private func fields(_ input: inout FuzzInput) {
    let names = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded", "forwarded", "Host",
                 "x-forwarded-for", "X-Other"]
    let count = input.choice(8)
    let chosen = (0..<count).map { _ in names[input.choice(names.count)] }
    var values = input.rest().split(separator: 0, omittingEmptySubsequences: false).map { text(Array($0)) }[...]
    let peer = values.popFirst() ?? "127.0.0.1:1"
    let headers = HTTPHeaders(chosen.enumerated().map { ($0.element, values.dropFirst($0.offset).first ?? "") })
    let proxies = try! TrustedProxies(parsing: ["127.0.0.0/8", "10.0.0.0/8", "::1", "fd00::/8"])
    let source = RequestSource(peer: peer, headers: headers, trusting: proxies)
    invariant(source.scheme == "http" || source.scheme == "https", "scheme \(source.scheme)")
    if let host = source.host {
        invariant(!host.isEmpty && host.utf8.allSatisfy { HTTPRequestParser.hostByteBit($0) == 1 }, "host '\(host)'")
    }
    if case .address(let address) = ForwardedNode(peer[...]), proxies.trusts(address) {
        return
    }
    invariant(source == RequestSource(peer: peer), "an untrusted peer '\(peer)' changed its source to \(source)")
    invariant(RequestSource(peer: peer, headers: headers, trusting: TrustedProxies()) == RequestSource(peer: peer),
              "trusting nobody, fields changed the source")
}
