import Courier
import CourierTesting
import Testing

@Suite struct SmokeTests {
    @Test(arguments: [TestMode.inProcess, .live])
    func helloRoute(mode: TestMode) async throws {
        let app = Application()
        app.get("/hello/<name>") { request, response in
            response.write("Hello, \(request.parameters["name"] ?? "")")
        }
        try await app.test(mode) { client in
            let response = try await client.get("/hello/world")
            #expect(response.status == 200)
            #expect(response.text == "Hello, world")
            #expect(try await client.get("/nope").status == 404)
        }
    }
}
