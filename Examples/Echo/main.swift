import Courier
import Foundation

// A WebSocket echo server at `/`: every text or binary message comes straight back.
// `--no-compression` turns down permessage-deflate offers; `--context-takeover` gives each
// connection its own zlib streams instead of the loop's shared ones.
let app = Application()
let configuration = WebSocketConfiguration(compression: !CommandLine.arguments.contains("--no-compression"),
                                           compressionContextTakeover: CommandLine.arguments.contains("--context-takeover"))

app.webSocket("/", configuration: configuration) { _, socket in
    socket.onText = { socket, text in socket.send(text) }
    socket.onBinary = { socket, bytes in socket.send(binary: bytes) }
}

do {
    try app.run()
} catch {
    print("Echo: \(error)")
    exit(1)
}
