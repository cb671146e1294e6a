@testable import Courier
import CourierHTTP
import Foundation
import FuzzSupport

/// What a client controls in a request's text: percent-encoding, urlencoded pairs and forms
/// (with `request[name]` over query and body), the Cookie header and Set-Cookie values,
/// route templates matched against paths, and the target's split into path and query. Each
/// case checks a round trip or an agreement between two ways of getting the same answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    switch input.choice(6) {
    case 0: percentEncoding(&input)
    case 1: pairs(&input)
    case 2: requestFields(&input)
    case 3: cookies(&input)
    case 4: routes(&input)
    default: target(&input)
    }
    return 0
}

/// Arbitrary text, as a String is made from a client's bytes.
private func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Pieces of the input, cut at bytes of `separator` (a byte no piece then holds).
private func pieces(_ bytes: [UInt8], separator: UInt8 = 0) -> [[UInt8]] {
    bytes.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
}

private let unreserved = Set(Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8))
private let hexDigits = Set(Array("0123456789ABCDEF".utf8))

private func percentEncoding(_ input: inout FuzzInput) {
    let string = text(input.rest())
    let encoded = URLEncoding.encode(string)
    // Only unreserved bytes and %XX with upper-case hex.
    var bytes = Array(encoded.utf8)[...]
    while let byte = bytes.popFirst() {
        if byte == UInt8(ascii: "%") {
            invariant(bytes.count >= 2 && hexDigits.contains(bytes.removeFirst()) && hexDigits.contains(bytes.removeFirst()),
                      "'\(encoded)' has a malformed escape")
        } else {
            invariant(unreserved.contains(byte), "'\(encoded)' has a reserved byte \(byte)")
        }
    }
    invariant(URLEncoding.decode(encoded) == string, "decode(encode(s)) != s for '\(string)'")
    invariant(URLEncoding.decode(encoded, plusIsSpace: false) == string, "decode(encode(s), plusIsSpace: false) != s")
    // Decoding arbitrary text never grows it, and leaves text without `%` and `+` as it is.
    for plus in [true, false] {
        let decoded = URLEncoding.decode(string, plusIsSpace: plus)
        invariant(decoded.utf8.count <= string.utf8.count, "decoding '\(string)' grew it to '\(decoded)'")
        if !string.utf8.contains(UInt8(ascii: "%")) && (!plus || !string.utf8.contains(UInt8(ascii: "+"))) {
            invariant(decoded == string, "'\(string)' changed by decoding")
        }
    }
    // The path of a request is the decoded path of its target.
    // The `?` bytes go, not the `?` Characters: "?" and a combining mark are one Character that
    // is not "?", yet the request splits its target at the byte, as RFC 3986 does.
    let path = "/" + String(decoding: string.utf8.filter { $0 != UInt8(ascii: "?") }, as: UTF8.self)
    invariant(Request(method: .get, target: path).path == URLEncoding.decode(path, plusIsSpace: false), "request path differs for '\(path)'")
    _ = Request(method: .get, target: path).url
}

private func pairs(_ input: inout FuzzInput) {
    let raw = input.rest()
    // Arbitrary text as a query: decoding, writing out and decoding again gives the same pairs.
    let parsed = URLEncoding.pairs(in: text(raw)[...])
    let written = URLEncoding.form(parsed)
    invariant(URLEncoding.pairs(in: written[...]).elementsEqual(parsed, by: ==), "pairs(form(pairs(x))) != pairs(x) for '\(text(raw))'")
    // Pairs made from the input (NUL ends a name, 1 a value): written out and read back whole.
    var made: [(String, String)] = []
    let parts = pieces(raw)
    for part in parts {
        let nameAndValue = pieces(part, separator: 1)
        made.append((text(nameAndValue[0]), text(nameAndValue.dropFirst().joined(separator: [1]).map { $0 })))
    }
    let form = URLEncoding.form(made)
    invariant(URLEncoding.pairs(in: form[...]).elementsEqual(made, by: ==), "pairs(form(p)) != p for \(made)")
    invariant(!form.contains(" ") && !form.contains("+"), "a form with a bare space or plus: '\(form)'")
}

private func requestFields(_ input: inout FuzzInput) {
    let formEncoded = input.bool()
    let name = text(input.take(input.choice(4)))
    let split = pieces(input.rest())
    let query = text(split.first ?? [])
    let body = Array(split.dropFirst().joined(separator: [0]))
    var headers = HTTPHeaders()
    if formEncoded { headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8") }
    let request = Request(method: .post, target: "/p?" + query.filter { $0 != "#" }, headers: headers, body: body)
    let queryPairs = URLEncoding.pairs(in: request.query[...])
    let bodyPairs = formEncoded ? URLEncoding.pairs(in: text(body)[...]) : []
    let expected = (queryPairs + bodyPairs).filter { $0.0 == name }.map(\.1)
    invariant(request.all(name) == expected, "all('\(name)') = \(request.all(name)), expected \(expected)")
    invariant(request[name] == (expected.first ?? ""), "request['\(name)'] is not the first value")
    invariant(request.formValue(name) == (bodyPairs.first { $0.0 == name }?.1 ?? ""), "formValue('\(name)') is not the first body value")
    invariant(request.queryContains(name) == queryPairs.contains { $0.0 == name }, "queryContains('\(name)') disagrees")
    let fields = request.fields
    for (field, value) in queryPairs + bodyPairs where fields[field] != nil {
        invariant(fields[field] == (queryPairs + bodyPairs).first { $0.0 == field }!.1, "fields['\(field)'] is not the first value")
        _ = value
    }
}

/// RFC 6265 cookie-octet and token characters, so that a name and value survive the trip.
private let cookieOctets = Array("!#$%&'()*+-./0123456789:<>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~".utf8)
private let tokenBytes = Array("!#$%&'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_`abcdefghijklmnopqrstuvwxyz|~".utf8)

private func cookies(_ input: inout FuzzInput) {
    switch input.choice(3) {
    case 0:
        // Any Cookie header: no trap, and each name's value is the first one sent.
        let headerValues = pieces(input.rest()).map(text)
        var headers = HTTPHeaders()
        for value in headerValues { headers.add("Cookie", value) }
        let cookies = Request(method: .get, target: "/", headers: headers).cookies
        for (name, value) in cookies {
            invariant(!name.contains(";") && !value.contains(";"), "a cookie with ';': '\(name)'='\(value)'")
        }
    case 1:
        // A cookie set by Set-Cookie comes back by name, between others.
        let name = String(decoding: input.take(1 + input.choice(12)).map { tokenBytes[Int($0) % tokenBytes.count] }, as: UTF8.self)
        let value = String(decoding: input.take(input.choice(40)).map { cookieOctets[Int($0) % cookieOctets.count] }, as: UTF8.self)
        let quoted = input.bool()
        let cookie = Cookie(name: name, value: value)
        invariant(cookie.headerValue.hasPrefix("\(name)=\(value)"), "Set-Cookie '\(cookie.headerValue)' does not start with the pair")
        let sent = "other=1; \(name)=\(quoted ? "\"\(value)\"" : value); \(name)=second"
        let cookies = Request(method: .get, target: "/", headers: ["Cookie": sent]).cookies
        if name != "other" {
            invariant(cookies[name] == value, "cookie '\(name)' read as '\(String(describing: cookies[name]))', sent '\(value)' in '\(sent)'")
        }
    default:
        // Hostile attributes: any Max-Age, any expiry (NaN, infinities, far past and future).
        let times: [Double] = [.nan, .infinity, -.infinity, 1e300, -1e300, 253_402_300_800, -1, 0]
        let seconds = times[input.choice(times.count)]
        let sameSites: [Cookie.SameSite] = [.strict, .lax, .none, .omitted]
        let cookie = Cookie(name: "n", value: "v", path: input.bool() ? nil : "/", domain: input.bool() ? "example.com" : nil,
                            maxAge: input.bool() ? input.interestingInt() : nil,
                            expires: input.bool() ? Date(timeIntervalSince1970: seconds) : nil, secure: input.bool(),
                            httpOnly: input.bool(), sameSite: sameSites[input.choice(sameSites.count)])
        let header = cookie.headerValue
        invariant(!header.contains("\r") && !header.contains("\n"), "Set-Cookie with a line break")
        if cookie.sameSite == .none { invariant(header.contains("; Secure"), "SameSite=None without Secure") }
    }
}

/// Literal text a template may hold, regex metacharacters included.
private let literalBytes = Array("abcXYZ019-_.~!$&'()*+,;=:@\\^$|?[]{}# %".utf8)
private let valueBytes = Array("abcXYZ019-_.~!$&'()*+,;=:@\\^$|?[]{}# %<>".utf8)

private func routes(_ input: inout FuzzInput) {
    // A template of literals and <name> parameters; a path made by filling the parameters in
    // must match, with captures that fill the template in to the same path.
    var template = "/"
    var names: [String] = []
    var path = "/"
    let segments = 1 + input.choice(4)
    for index in 0..<segments {
        let literal = String(decoding: input.take(input.choice(6)).map { literalBytes[Int($0) % literalBytes.count] }, as: UTF8.self)
        template += literal
        path += literal
        if input.bool() {
            let name = "p\(index)"
            // Never empty, even when the input has run out: a parameter matches one or more characters.
            let value = "v" + String(decoding: input.take(input.choice(6)).map { valueBytes[Int($0) % valueBytes.count] }, as: UTF8.self)
            template += "<\(name)>"
            names.append(name)
            path += value
        }
        if input.bool() {
            template += "/"
            path += "/"
        }
    }
    let route: RouteTemplate
    do {
        route = try RouteTemplate(template)
    } catch {
        return invariant(false, "template '\(template)' refused: \(error)")
    }
    guard let captured = route.match(path) else { return invariant(false, "'\(path)' does not match '\(template)'") }
    invariant(Set(captured.keys) == Set(names), "captured \(captured.keys), template names \(names)")
    var filled = template
    for (name, value) in captured {
        invariant(!value.isEmpty && !value.contains("/"), "<\(name)> captured '\(value)'")
        filled = filled.replacingOccurrences(of: "<\(name)>", with: value)
    }
    invariant(filled == path, "'\(template)' filled with \(captured) is '\(filled)', not '\(path)'")
    // Any path against it: no trap; a match fills the template in to that path.
    let other = text(input.rest())
    if let found = route.match(other) {
        var refilled = template
        for (name, value) in found { refilled = refilled.replacingOccurrences(of: "<\(name)>", with: value) }
        invariant(refilled == other, "'\(other)' matched '\(template)' with \(found)")
    }
    if names.isEmpty { invariant((route.match(other) != nil) == (other == template), "literal '\(template)' against '\(other)'") }
}

private func target(_ input: inout FuzzInput) {
    let bytes = input.rest()
    let string = text(bytes)
    let target = RequestTarget(string)
    let hasQuery = string.utf8.contains(UInt8(ascii: "?"))
    invariant(String(target.path) + (hasQuery ? "?" + target.query : "") == string, "'\(string)' split into '\(target.path)' and '\(target.query)'")
    invariant(!target.path.utf8.contains(UInt8(ascii: "?")), "a path with '?'")
    invariant(target.pathHasEscapes == target.path.utf8.contains(UInt8(ascii: "%")), "pathHasEscapes wrong for '\(string)'")
    invariant(target.pathString == String(target.path) && target.queryString == String(target.query), "pathString or queryString differs")
    let scanned = Array(string.utf8).withUnsafeBytes { ByteScan.queryMarkAndEscapes($0) }
    invariant(scanned.queryMark == string.utf8.firstIndex(of: UInt8(ascii: "?")).map { string.utf8.distance(from: string.utf8.startIndex, to: $0) },
              "ByteScan finds the query elsewhere in '\(string)'")
    invariant(scanned.pathHasEscapes == target.pathHasEscapes, "ByteScan and RequestTarget disagree on escapes in '\(string)'")
    let request = Request(method: .get, target: string)
    invariant(request.query == String(target.query), "request query differs")
    let head = HTTPRequestHead(method: .get, target: string)
    invariant(head.path == target.path && head.query == target.query, "HTTPRequestHead splits '\(string)' differently")
}
