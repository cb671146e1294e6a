// `--name value` options and `key=value` output for the load clients WSLoad and ChannelLoad (one
// file, linked into ChannelLoad).
#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var values: [String: String] = [:]
    init(_ arguments: ArraySlice<String>) throws {
        var rest = arguments
        while let name = rest.popFirst() {
            guard name.hasPrefix("--"), let value = rest.popFirst() else { throw Failure("bad argument: \(name)") }
            values[String(name.dropFirst(2))] = value
        }
    }
    func string(_ name: String, _ fallback: String) -> String { values[name] ?? fallback }
    func int(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = values[name] else { return fallback }
        guard let value = Int(text) else { throw Failure("--\(name) expects a whole number, got \(text)") }
        return value
    }
    func double(_ name: String, _ fallback: Double) throws -> Double {
        guard let text = values[name] else { return fallback }
        guard let value = Double(text) else { throw Failure("--\(name) expects a number, got \(text)") }
        return value
    }
}

func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress!, $0.count) }
}

func emit(_ key: String, _ value: CustomStringConvertible) { print("\(key)=\(value)") }
