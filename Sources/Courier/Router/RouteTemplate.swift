/// A webapp2 path template: literal text with `<name>` (one path segment) or `<name:regex>`
/// parts. Compiled once, when the app is built; a bad template fails there, naming itself.
/// A class: reading a route out of the router's array copied the template as a value (its
/// strings, names and regex, each retained and released), several times per request.
final class RouteTemplate: Sendable, CustomStringConvertible {
    let source: String
    let names: [String]
    /// The template with each part's pattern left out (`/game/<key>` for `/game/<key:[a-z0-9]+>`):
    /// what metrics label a request with, one value per route however many paths it matches.
    let label: String
    private let literal: String?
    // nonisolated(unsafe): Regex<AnyRegexOutput> is not Sendable only because its output type is
    // not; the compiled regex is never mutated after init, and matching only reads it.
    nonisolated(unsafe) private let regex: Regex<AnyRegexOutput>?

    init(_ source: String) throws(ApplicationError) {
        self.source = source
        guard source.hasPrefix("/") else { throw ApplicationError("route '\(source)': a template must start with /") }
        var pattern = "^"
        var names: [String] = []
        var label = ""
        var rest = source[...]
        var hasParameters = false
        while let open = rest.firstIndex(of: "<") {
            pattern += Self.escape(rest[..<open])
            label += rest[..<open]
            guard let close = rest[open...].firstIndex(of: ">") else {
                throw ApplicationError("route '\(source)': '<' without a closing '>'")
            }
            let inside = rest[rest.index(after: open)..<close]
            let name: Substring, expression: Substring
            if let colon = inside.firstIndex(of: ":") {
                name = inside[..<colon]
                expression = inside[inside.index(after: colon)...]
            } else {
                name = inside
                expression = "[^/]+"
            }
            guard !expression.isEmpty else { throw ApplicationError("route '\(source)': empty pattern for <\(name)>") }
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ApplicationError("route '\(source)': invalid parameter name '\(name)'")
            }
            let groupName = name.isEmpty ? "p\(names.count)" : String(name)
            if names.contains(groupName) { throw ApplicationError("route '\(source)': parameter '\(name)' appears twice") }
            names.append(groupName)
            pattern += "(?<\(groupName)>\(expression))"
            label += "<\(groupName)>"
            hasParameters = true
            rest = rest[rest.index(after: close)...]
        }
        pattern += Self.escape(rest) + "$"
        self.names = names
        self.label = label + rest
        if hasParameters {
            do {
                let compiled = try Regex(pattern)
                // A Regex compiles its program on first use: do it here, when the app is built,
                // not in the first request each loop serves.
                _ = try? compiled.wholeMatch(in: source)
                regex = compiled
            } catch {
                throw ApplicationError("route '\(source)': invalid regular expression (\(error))")
            }
            literal = nil
        } else {
            regex = nil
            literal = source
        }
    }

    /// The captured parameters when `path` matches the whole template.
    func match(_ path: String) -> [String: String]? {
        if let literal { return literal == path ? [:] : nil }
        guard let regex, let match = try? regex.wholeMatch(in: path) else { return nil }
        var parameters: [String: String] = [:]
        for name in names {
            if let value = match.output[name]?.substring { parameters[name] = String(value) }
        }
        return parameters
    }

    var description: String { source }

    private static func escape(_ text: Substring) -> String {
        var result = ""
        for character in text {
            if "\\^$.|?*+()[]{}".contains(character) { result.append("\\") }
            result.append(character)
        }
        return result
    }
}
