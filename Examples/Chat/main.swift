import Courier
import CourierChannel
import Foundation

// A chat room on the Channel API. Each tab gets a random client ID, subscribes it to the
// "room" topic, and hears every message and every join and leave through its channel.
//
//     Chat --port 8080 [--long-poll-only] [--secret-file courier-data/channel-secret] [--token-seconds N]

struct RoomEvent: Encodable {
    let kind: String
    let from: String
    var text: String? = nil
}

let usage = """
    Usage: Chat [--host H] [--port P] [--workers N] [--busy-poll-us N] [--long-poll-only]
                [--secret-file PATH] [--token-seconds N]

      --host H             address to listen on (default 0.0.0.0)
      --port P             port to listen on (default 8080, or $PORT)
      --workers N          event loops (default: one per core)
      --busy-poll-us N     keep each loop polling for N µs after a read instead of
                           sleeping: lower latency, a busy core (default 0, off)
      --long-poll-only     turn the WebSocket transport off, so clients long-poll
      --secret-file PATH   where the channel token secret is kept
                           (default courier-data/channel-secret; $COURIER_CHANNEL_SECRET wins)
      --token-seconds N    for tests: each page's channel token expires after N seconds
                           (1...86400) instead of the default 120 minutes
    """

if CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h") {
    print(usage)
    exit(0)
}

let options = CommandLineOptions()
let longPollOnly = CommandLine.arguments.contains("--long-poll-only")
let tokenSeconds: Int?
do {
    tokenSeconds = try options.integer("token-seconds")
    if let seconds = tokenSeconds, !(1...86_400).contains(seconds) {
        throw ApplicationError("--token-seconds must be 1...86400, got \(seconds)")
    }
} catch {
    FileHandle.standardError.write(Data("Chat: \(error)\n\n\(usage)\n".utf8))
    exit(2)
}
let channels = try ChannelService(settings: ChannelSettings(webSocketEnabled: !longPollOnly),
                                  secretPath: options.value("secret-file") ?? "courier-data/channel-secret")
let room = "room"

func announce(_ event: RoomEvent) throws {
    let json = String(decoding: try JSONEncoder().encode(event), as: UTF8.self)
    try channels.publish(topic: room, message: json)
}

func newClientID() -> String {
    let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    return "user-" + String((0..<4).map { _ in letters.randomElement()! })
}

/// A JavaScript string literal (JSON), safe inside a <script> element.
func jsString(_ text: String) -> String {
    let json = String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
    return json.replacingOccurrences(of: "<", with: "\\u003c")
}

let app = Application()
app.use(Channels(channels, presence: true))

app.get("/") { _, response in
    let clientID = newClientID()
    let token = try tokenSeconds.map { try channels.createChannel(clientID: clientID, durationSeconds: $0) }
        ?? channels.createChannel(clientID: clientID)
    try channels.subscribe(clientID: clientID, topic: room)
    response.contentType = "text/html; charset=utf-8"
    response.write(page(clientID: clientID, token: token))
}

app.post("/send") { request, response in
    let text = request["text"], from = request["from"]
    guard !text.isEmpty, !from.isEmpty else { throw HTTPError(.badRequest, "Send needs `text` and `from`.") }
    try announce(RoomEvent(kind: "message", from: from, text: text))
    response.status = .noContent
}

app.post(Channels.connectedPath) { request, response in
    try announce(RoomEvent(kind: "join", from: request["from"]))
    response.status = .noContent
}

app.post(Channels.disconnectedPath) { request, response in
    try announce(RoomEvent(kind: "leave", from: request["from"]))
    response.status = .noContent
}

func page(clientID: String, token: String) -> String {
    """
    <!doctype html>
    <html><head><meta charset="utf-8"><title>Courier chat</title>
    <style>
      body { font: 15px system-ui, sans-serif; max-width: 40em; margin: 2em auto; }
      #log { border: 1px solid #ccc; height: 24em; overflow-y: auto; padding: .5em; }
      .join, .leave, .status { color: #888; font-style: italic; }
      #input { width: 80%; }
    </style>
    <script src="/_ah/channel/jsapi"></script>
    </head><body>
    <h1>Chat</h1>
    <p>You are <b id="me"></b>. <span id="status" class="status">connecting…</span></p>
    <div id="log"></div>
    <form id="form"><input id="input" autocomplete="off" autofocus> <button id="send">Send</button></form>
    <script>
      var me = \(jsString(clientID)), token = \(jsString(token));
      var log = document.getElementById('log'), input = document.getElementById('input');
      var statusLine = document.getElementById('status');
      document.getElementById('me').textContent = me;

      function line(kind, text) {
        var div = document.createElement('div');
        div.className = kind;
        div.textContent = text;
        log.appendChild(div);
        log.scrollTop = log.scrollHeight;
      }

      var socket = new goog.appengine.Channel(token).open({
        onopen: function () { statusLine.textContent = 'connected'; },
        onmessage: function (m) {
          var event = JSON.parse(m.data);
          if (event.kind === 'message') line('message', event.from + ': ' + event.text);
          else if (event.kind === 'join') line('join', event.from + ' joined');
          else if (event.kind === 'leave') line('leave', event.from + ' left');
        },
        onerror: function (e) { line('status', 'error ' + e.code + ': ' + decodeURIComponent(e.description.replace(/\\+/g, ' '))); },
        onclose: function () { statusLine.textContent = 'disconnected (reload to rejoin)'; }
      });

      document.getElementById('form').onsubmit = function (e) {
        e.preventDefault();
        if (!input.value) return;
        var xhr = new XMLHttpRequest();
        xhr.open('POST', '/send');
        xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
        xhr.send('from=' + encodeURIComponent(me) + '&text=' + encodeURIComponent(input.value));
        input.value = '';
      };
    </script>
    </body></html>
    """
}

do {
    try app.run()
} catch {
    print("Chat: \(error)")
    exit(1)
}
