import Foundation

/// The room's one page: its client ID, its token, the log, and the form that posts to /send.
enum ChatPage {
    static func render(clientID: String, token: String) -> String {
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
            // The server names the sender from the page's token; a refusal (too long, an
            // expired page) is shown in the log.
            xhr.onload = function () {
              if (xhr.status >= 300) line('status', 'not sent: ' + xhr.responseText.trim());
            };
            xhr.send('token=' + encodeURIComponent(token) + '&text=' + encodeURIComponent(input.value));
            input.value = '';
          };
        </script>
        </body></html>
        """
    }

    /// A JavaScript string literal (JSON), safe inside a <script> element.
    static func jsString(_ text: String) -> String {
        let json = String(decoding: try! JSONEncoder().encode(text), as: UTF8.self)
        return json.replacingOccurrences(of: "<", with: "\\u003c")
    }
}
