import CourierHTTP
import Foundation

/// What llhttp (Node's HTTP/1.1 parser, no lenient flags) decided for each input of the
/// FuzzHTTPParser corpus, as `scripts/llhttp-decisions.js` recorded it in
/// `Tests/fuzz/llhttp-decisions.json`. Recorded once and committed, so the differential test runs
/// without Node and names the llhttp version it was compared with.
struct LLHTTPDecisions: Decodable {
    var node: String
    var llhttp: String
    var lenientFlags: Int
    var inputs: [Input]

    struct Input: Decodable {
        var name: String
        /// The fuzz target's limits choice (0 is the default limits).
        var limits: Int
        /// The wire bytes, base64: compared with the corpus file so that a stale record fails.
        var payload: String
        var llhttp: Outcome
    }

    struct Outcome: Decodable {
        enum Decision: String, Decodable {
            /// Every byte read, every request complete, nothing pending.
            case complete
            /// No error, but the input ended inside a request.
            case incomplete
            /// An error (`error` says which, at which offset).
            case reject
            /// The last request switches protocols (CONNECT or Upgrade): llhttp stops after it.
            case upgrade
        }

        var decision: Decision
        var error: Failure?
        var requests: [Request]
    }

    struct Failure: Decodable {
        var code: String
        var reason: String
        var offset: Int
    }

    /// One request as llhttp reported it; names, values and the URL are one-byte strings (one
    /// character per byte), as Node hands them over.
    struct Request: Decodable {
        var method: String
        var target: String
        var version: String
        var headers: [[String]]
        var trailers: [[String]]
        var body: String
        var complete: Bool
        var upgrade: Bool
        var keepAlive: Bool
    }

    /// The repository's `Tests` folder, found from this file: the corpus and the record are read
    /// where they are committed, not copied into a bundle that could hold an older version.
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let corpusFolder = testsFolder.appendingPathComponent("fuzz/corpus/FuzzHTTPParser")
    static let recordFile = testsFolder.appendingPathComponent("fuzz/llhttp-decisions.json")

    static func load() throws -> LLHTTPDecisions {
        try JSONDecoder().decode(LLHTTPDecisions.self, from: Data(contentsOf: recordFile))
    }
}

/// A FuzzHTTPParser corpus file read as the fuzz target reads it (Tests/fuzz/FuzzHTTPParser):
/// a byte choosing the limits, a byte giving how many split lengths follow (mod 8), those
/// lengths, then the bytes on the wire. Bytes past the end read as zeros, as in FuzzInput.
struct CorpusInput {
    var name: String
    var limitsChoice: Int
    var payload: [UInt8]

    init(name: String, file bytes: [UInt8]) {
        self.name = name
        let byte = { (index: Int) -> Int in index < bytes.count ? Int(bytes[index]) : 0 }
        limitsChoice = byte(0) % 4
        payload = Array(bytes[min(2 + byte(1) % 8, bytes.count)...])
    }

    /// The fuzz target's limits for each choice: the defaults, then small ones every limit is reached with.
    var limits: HTTPRequestParser.Limits {
        switch limitsChoice {
        case 0: HTTPRequestParser.Limits()
        case 1: HTTPRequestParser.Limits(maxRequestLineBytes: 32, maxHeaderBytes: 64, maxHeaderCount: 3)
        case 2: HTTPRequestParser.Limits(maxRequestLineBytes: 16, maxHeaderBytes: 200, maxHeaderCount: 100)
        default: HTTPRequestParser.Limits(maxRequestLineBytes: 200, maxHeaderBytes: 16, maxHeaderCount: 1)
        }
    }

    /// Every file of the corpus, by name.
    static func all() throws -> [CorpusInput] {
        let folder = LLHTTPDecisions.corpusFolder
        return try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") }
            .sorted()
            .map { CorpusInput(name: $0, file: Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }
}

extension [UInt8] {
    /// The bytes as a Swift string literal would spell them (`\r`, `\n`, `\t`, `\0`, `\u{HH}`), cut
    /// after `limit` bytes: how a failing input is shown.
    func escaped(limit: Int = 600) -> String {
        var text = ""
        for byte in prefix(limit) {
            switch byte {
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0x09: text += "\\t"
            case 0x00: text += "\\0"
            case 0x5C: text += "\\\\"
            case 0x22: text += "\\\""
            case 0x20..<0x7F: text.unicodeScalars.append(Unicode.Scalar(byte))
            default: text += "\\u{\(String(byte, radix: 16, uppercase: true))}"
            }
        }
        return count > limit ? text + "… (\(count) bytes)" : text
    }
}
