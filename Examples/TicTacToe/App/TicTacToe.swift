public import Courier
public import CourierChannel

/// Channel Tac Toe, the App Engine sample, on Courier: the same three routes over a `Game`
/// model and one page, plus `/token` so a page can reopen its channel after `onclose`.
///
///     app = webapp2.WSGIApplication([('/', MainPage), ('/opened', OpenedPage), ('/move', MovePage)])
public func makeTicTacToe(store: any GameStore, channels: ChannelService, users: Users,
                          configuration: ServerConfiguration = ServerConfiguration()) throws -> Application {
    let updater = GameUpdater(channels: channels)
    let app = Application(configuration: configuration)
    // The cookie is SameSite=Lax; OriginCheck also refuses a move another site's page posts.
    app.use(OriginCheck(), users, Channels(channels))
    app.route("/", MainPage(store: store, updater: updater, page: try GamePage()))
    app.route("/opened", OpenedPage(store: store, updater: updater))
    app.route("/move", MovePage(store: store, updater: updater))
    app.route("/token", TokenPage(store: store, channels: channels))
    return app
}
