import Courier
import Foundation

// A WebSocket echo server at `/`: every text or binary message comes straight back.
let app = Application()

app.webSocket("/") { _, socket in
    socket.onText = { socket, text in socket.send(text) }
    socket.onBinary = { socket, bytes in socket.send(binary: bytes) }
}

do {
    try app.run()
} catch {
    print("Echo: \(error)")
    exit(1)
}
