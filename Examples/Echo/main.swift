import ArgumentParser
import Courier
import Foundation

/// A WebSocket echo server at `/`: every text or binary message comes straight back.
struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "Echo", abstract: "A WebSocket echo server at /.")

    @OptionGroup var server: ServerOptions

    @Flag(help: "Turn down permessage-deflate offers.")
    var noCompression = false

    @Flag(help: "Give each connection its own zlib streams instead of the loop's shared ones.")
    var contextTakeover = false

    func run() throws {
        let app = Application()
        let configuration = WebSocketConfiguration(compression: !noCompression, compressionContextTakeover: contextTakeover)
        app.webSocket("/", configuration: configuration) { _, socket in
            socket.onText = { socket, text in socket.send(text) }
            socket.onBinary = { socket, bytes in socket.send(binary: bytes) }
        }
        try app.run(options: server)
    }
}

Echo.main()
