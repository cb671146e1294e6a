import Foundation
import Mustache

/// The one page, from Templates/index.mustache (the original's index.html).
struct GamePage: Sendable {
    let template: MustacheTemplate

    init() throws {
        guard let url = Bundle.module.url(forResource: "index", withExtension: "mustache", subdirectory: "Templates") else {
            throw TicTacToeError("Templates/index.mustache is missing from the TicTacToe bundle")
        }
        template = try MustacheTemplate(string: String(contentsOf: url, encoding: .utf8))
    }

    func render(game: Game, me: String, token: String, gameLink: String, logoutLink: String) throws -> String {
        let values: [String: Any] = [
            "token": try Self.script(token),
            "me": try Self.script(me),
            "game_key": try Self.script(game.key),
            "initial_message": try Self.script(game.state),
            "game_link": gameLink,
            "logout_link": logoutLink,
        ]
        return template.render(values)
    }

    /// A value as JSON that is safe inside a <script> element.
    static func script<T: Encodable>(_ value: T) throws -> String {
        let json = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        return json.replacingOccurrences(of: "<", with: "\\u003c")
            .replacingOccurrences(of: "\u{2028}", with: "\\u2028")
            .replacingOccurrences(of: "\u{2029}", with: "\\u2029")
    }
}

struct TicTacToeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
