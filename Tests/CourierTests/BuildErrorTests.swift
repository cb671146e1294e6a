import Courier
import CourierTesting
import Testing

struct NoVerbs: RequestHandler {}

/// Registration mistakes fail when the app is built, naming what is wrong, before anything
/// is served.
@Suite struct BuildErrorTests {
    private func buildError(_ app: Application) -> String {
        let error = #expect(throws: ApplicationError.self) { _ = try app.responder() }
        return error?.description ?? ""
    }

    @Test func aMethodRegisteredTwiceNamesTheRoute() {
        let app = Application()
        app.get("/scores/<id>") { _, _ in }
        app.get("/scores/<id>") { _, _ in }
        let message = buildError(app)
        #expect(message.contains("/scores/<id>"))
        #expect(message.contains("GET"))
    }

    @Test func aHandlerTypeAndAClosureForTheSameVerbCollide() {
        let app = Application()
        app.route("/game/<key>", GamePage())
        app.post("/game/<key>") { _, _ in }
        let message = buildError(app)
        #expect(message.contains("/game/<key>"))
        #expect(message.contains("POST"))
    }

    @Test func differentVerbsOnOneTemplateAreFine() async throws {
        let app = Application()
        app.get("/x") { _, response in response.write("got") }
        app.post("/x") { _, response in response.write("posted") }
        try await app.test(.inProcess) { client throws in
            #expect(try await client.get("/x").text == "got")
            #expect(try await client.post("/x").text == "posted")
        }
    }

    @Test(arguments: ["/a/<b", "/a/<b:[>", "/a/<b:(x>", "/a/<b:>", "/a/<b-c>", "/a/<b>/<b>", "no-slash"])
    func invalidTemplatesNameThemselves(template: String) {
        let app = Application()
        app.get(template) { _, _ in }
        #expect(buildError(app).contains("'\(template)'"))
    }

    @Test func aHandlerWithNoVerbsIsAnError() {
        let app = Application()
        app.route("/nothing", NoVerbs())
        #expect(buildError(app).contains("/nothing"))
    }

    @Test func everyMistakeIsReported() {
        let app = Application()
        app.get("/a/<b") { _, _ in }
        app.get("/ok") { _, _ in }
        app.get("/ok") { _, _ in }
        let message = buildError(app)
        #expect(message.contains("/a/<b"))
        #expect(message.contains("/ok"))
    }

    @Test func aLiveServerDoesNotStartWithMistakes() async {
        let app = Application()
        app.get("/a/<b") { _, _ in }
        await #expect(throws: ApplicationError.self) {
            try await app.test(.live) { _ in }
        }
    }
}
