import Courier
import Foundation

// The benchmark app: the TechEmpower plaintext and JSON routes and a body echo.
struct Greeting: Encodable, Sendable {
    let message: String
}

let app = Application()

app.get("/plaintext") { _, response in
    response.contentType = "text/plain"
    response.write("Hello, World!")
}

app.get("/json") { _, response in
    try response.json(Greeting(message: "Hello, World!"))
}

app.post("/echo") { request, response in
    response.contentType = request.headers["Content-Type"] ?? "application/octet-stream"
    response.write(request.body)
}

do {
    try app.run()
} catch {
    print("Hello: \(error)")
    exit(1)
}
