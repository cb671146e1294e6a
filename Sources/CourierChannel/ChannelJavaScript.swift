/// The JavaScript client served at `GET /_ah/channel/jsapi`: `goog.appengine.Channel` and
/// `goog.appengine.Socket` with the original callbacks, WebSocket first and long-polling as the
/// fallback, reconnecting with backoff and resuming from the last sequence number it saw.
/// Kept as a Swift string so a moved binary still serves it.
enum ChannelJavaScript {
    static let source = #"""
// goog.appengine.Channel for Courier: the original API over WebSocket, falling back to
// long-polling, with resume after network blips. No dependencies.
(function (w) {
  'use strict';
  var g = w.goog = w.goog || {}, ae = g.appengine = g.appengine || {};
  var BASE = '/_ah/channel/', HEARTBEAT = 15000, WS_WAIT = 3000, GIVE_UP = 120000;
  var S = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 };

  // topics: the last offset seen per topic, for a server that numbers a topic's messages once for all its subscribers.
  function Channel(token) { this.token = token; this.session = ''; this.seq = 0; this.topics = Object.create(null); }
  Channel.prototype.open = function (handler) { return new Socket(this, handler || {}); };

  function Socket(channel, h) {
    var self = this;
    this.readyState = S.CONNECTING;
    this.onopen = h.onopen; this.onmessage = h.onmessage; this.onerror = h.onerror; this.onclose = h.onclose;
    this._c = channel; this._cid = Math.random().toString(36).slice(2) + Date.now().toString(36);
    this._poll = !!ae.forceLongPoll; this._tries = 0; this._lostAt = 0; this._t = null;
    setTimeout(function () { self._connect(); }, 0);
  }
  Socket.ReadyState = S;

  function call(s, name, arg) { if (typeof s[name] === 'function') { try { s[name](arg); } catch (e) { setTimeout(function () { throw e; }, 0); } } }
  function form(o) { var p = []; for (var k in o) p.push(k + '=' + encodeURIComponent(o[k])); return p.join('&'); }

  Socket.prototype._connect = function () {
    if (this.readyState >= S.CLOSING) return;
    if (this._poll || typeof WebSocket === 'undefined') this._longPoll(); else this._webSocket();
  };

  Socket.prototype._webSocket = function () {
    var self = this, c = this._c, opened = false, ws, live;
    try { ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + BASE + 'ws'); }
    catch (e) { this._poll = true; return this._longPoll(); }
    this._t = { close: function () { ws.onclose = null; try { ws.send('{"type":"close"}'); } catch (e) {} ws.close(); stop(); } };
    var wait = setTimeout(function () { if (!opened) { ws.onclose = null; ws.close(); self._fallBack(); } }, WS_WAIT);
    var beat = null, last = Date.now();
    function stop() { clearTimeout(wait); clearInterval(beat); }
    ws.onopen = function () {
      ws.send(JSON.stringify({ type: 'open', token: c.token, session: c.session, seq: c.seq, topics: c.topics }));
      beat = setInterval(function () {
        if (Date.now() - last > 3 * HEARTBEAT) { ws.onclose = null; ws.close(); stop(); self._lost(); return; }
        try { ws.send('{"type":"ping"}'); } catch (e) {}
      }, HEARTBEAT);
    };
    ws.onmessage = function (e) {
      last = Date.now();
      var f; try { f = JSON.parse(e.data); } catch (x) { return; }
      if (f.type === 'opened') { opened = true; clearTimeout(wait); }
      self._frame(f);
    };
    ws.onclose = function () {
      stop();
      if (self.readyState >= S.CLOSING) return;
      if (!opened && !self._everOpen) self._fallBack(); else self._lost();
    };
  };

  Socket.prototype._fallBack = function () { this._poll = true; this._connect(); };

  Socket.prototype._longPoll = function () {
    var self = this, c = this._c, done = false, xhr = null;
    this._t = { close: function () {
      done = true; if (xhr) xhr.abort();
      var x = new XMLHttpRequest(); x.open('POST', BASE + 'close'); x.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
      x.send(form({ token: c.token, cid: self._cid }));
    } };
    function next() {
      if (done || self.readyState >= S.CLOSING) return;
      xhr = new XMLHttpRequest();
      xhr.open('POST', BASE + 'poll');
      xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
      xhr.timeout = 60000;
      xhr.onload = function () {
        if (done) return;
        var frames; try { frames = JSON.parse(xhr.responseText); } catch (e) { frames = null; }
        if (!frames || !frames.length && xhr.status !== 200) { done = true; return self._lost(); }
        for (var i = 0; i < frames.length && !done; i++) { if (frames[i].type === 'error') done = true; self._frame(frames[i]); }
        next();
      };
      xhr.onerror = xhr.ontimeout = function () { if (!done) { done = true; self._lost(); } };
      xhr.send(form({ token: c.token, session: c.session, seq: c.seq, topics: JSON.stringify(c.topics), cid: self._cid }));
    }
    next();
  };

  Socket.prototype._frame = function (f) {
    var c = this._c;
    if (f.type === 'opened') {
      c.session = f.session; this._tries = 0; this._lostAt = 0;
      if (!this._everOpen) { this._everOpen = true; this.readyState = S.OPEN; call(this, 'onopen'); }
    } else if (f.type === 'message' && typeof f.topic === 'string') {
      if (f.seq > (c.topics[f.topic] || 0)) { c.topics[f.topic] = f.seq; call(this, 'onmessage', { data: f.data }); }
    } else if (f.type === 'message') {
      if (f.seq > c.seq) { c.seq = f.seq; call(this, 'onmessage', { data: f.data }); }
    } else if (f.type === 'error') {
      this._fail(f.code, f.description);
    }
  };

  // The transport dropped without an error: reconnect with backoff and resume where we were.
  Socket.prototype._lost = function () {
    var self = this;
    if (this.readyState >= S.CLOSING) return;
    if (!this._lostAt) this._lostAt = Date.now();
    if (Date.now() - this._lostAt > GIVE_UP) return this._fail(410, 'Channel+session+expired.');
    var delay = Math.min(10000, 250 * Math.pow(2, this._tries++)) * (0.75 + Math.random() / 2);
    setTimeout(function () { self._connect(); }, delay);
  };

  Socket.prototype._fail = function (code, description) {
    if (this.readyState === S.CLOSED) return;
    if (this._t) this._t.close();
    if (code === 410) { this._c.session = ''; this._c.seq = 0; this._c.topics = Object.create(null); } // nothing to resume: open() starts afresh
    this.readyState = S.CLOSED;
    call(this, 'onerror', { code: code, description: description });
    call(this, 'onclose');
  };

  Socket.prototype.close = function () {
    if (this.readyState >= S.CLOSING) return;
    this.readyState = S.CLOSING;
    if (this._t) this._t.close();
    this.readyState = S.CLOSED;
    call(this, 'onclose');
  };

  ae.Channel = Channel;
  ae.Socket = Socket;
})(window);
"""#
}
