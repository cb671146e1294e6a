// ChannelLoad hold: many channel clients held open by one process and driven by an orchestrator
// (Benchmarks/scale/scale.py) over stdin/stdout, so that several processes together hold more
// clients than one process may have file descriptors.
//
//   ChannelLoad hold --port P --kind courier|hummingbird|node --clients N --id-prefix p0-
//                    [--transport ws|poll] [--sources 127.0.0.2,...] [--window 64]
//                    [--posters 8] [--size 32] [--open-timeout 600]
//
// Opens N clients (IDs <prefix>0 ... <prefix>N-1) through the real protocol: courier, a token
// from POST /token?c=ID; node, GET /token?client=ID; then the WebSocket (/_ah/channel/ws, the
// open frame, "opened"), or with --transport poll (courier, node) POST /_ah/channel/poll with
// the form fields token, session, seq, cid, polling again as soon as each answer arrives;
// hummingbird: GET /ws?c=ID. Then prints `ready clients=N connect_seconds=...` and takes one
// command per line on stdin, answering each with one line on stdout, `ok <command> key=value...`
// or `error <command> <what>` (a failure that leaves the clients unusable also exits 1):
//
//   send RATE SECONDS FILE   RATE messages/s to its own clients, round-robin, for SECONDS (open
//                            loop, each message's scheduled CLOCK_MONOTONIC time in its body),
//                            over --posters keep-alive connections opened for the command;
//                            waits for every message; writes each message's latency in µs, one a
//                            line, to FILE (a message that never arrived counts as the time from
//                            the end of the run to the end of the drain: a lower bound)
//   subscribe TOPIC          subscribes every client (pipelined POSTs, 64 at a time)
//   await-publish K TIMEOUT  waits (at most TIMEOUT s) until every client has had K topic
//                            messages (a body whose time is followed by "#T"); answers how many
//                            got there and the slowest and quickest arrival after the time in the
//                            body (max_us, min_us)
//   check PUBLISHES          exactly once: every client had each seq once, in order, and as many
//                            messages as were acknowledged to it plus PUBLISHES (hummingbird, which
//                            has no seqs: the counts only)
//   stats                    the WebSocket pings the server sent so far (answered), messages had
//   close                    closes every connection and exits 0 (as does the end of stdin)
#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import Histogram

/// One line to the orchestrator, unbuffered.
func answer(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + offset, bytes.count - offset) }
        if n > 0 { offset += n } else if errno != EINTR { return }
    }
}

/// Percent-encodes a form field value (anything but unreserved characters).
func formEncode(_ text: String) -> String {
    var out = ""
    for byte in text.utf8 {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(byte))
        default:
            let hex = Array("0123456789ABCDEF".utf8)
            out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
        }
    }
    return out
}

/// Whether a message body's time is followed by "#T" (a topic message of the scale benchmark).
@inline(__always)
func isTopicMessage(_ payload: UnsafePointer<UInt8>, _ count: Int) -> Bool {
    var i = 0
    while i + 22 <= count {
        if payload[i] == 0x40 { return payload[i + 20] == 0x23 && payload[i + 21] == 0x54 }
        i += 1
    }
    return false
}

extension Bench {
    // MARK: stdin

    func watchStdin() throws {
        setNonBlocking(0)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u32 = Bench.stdinTag
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, 0, &event) == 0 else { throw Failure.errno("epoll_ctl (stdin)") }
    }

    func readStdin() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress!, $0.count) }
            if n > 0 { stdinBuffer += chunk[0..<n]; continue }
            if n == 0 {
                stdinClosed = true
                epoll_ctl(epoll, EPOLL_CTL_DEL, 0, nil)
            }
            if n < 0 && errno == EINTR { continue }
            return
        }
    }

    /// The next whole line read from stdin, if any.
    func nextCommand() -> String? {
        guard let newline = stdinBuffer.firstIndex(of: 10) else { return nil }
        let line = String(decoding: stdinBuffer[..<newline], as: UTF8.self)
        stdinBuffer.removeFirst(newline + 1)
        return line
    }

    /// Closes the POST connections (an idle one would get Courier's 408 after its header timeout).
    func closePosters() {
        for poster in posters {
            epoll_ctl(epoll, EPOLL_CTL_DEL, poster.fd, nil)
            close(poster.fd)
        }
        posters = []
        freePosters = Array(repeating: [], count: ports.count)
    }

    // MARK: Long-poll clients

    /// POST /_ah/channel/poll for client `i`: its token, session, the last seq it was handed and
    /// its connection ID (docs/channel-protocol.md, "Long-poll transport").
    func sendPoll(_ i: Int) throws {
        let form = "token=\(formEncode(tokens[i]))&session=\(formEncode(sessions[i]))&seq=\(seen[i])&cid=c\(i)"
        try writeAll(clients[i].fd, HTTP.post("/_ah/channel/poll", host: host, body: Array(form.utf8),
                                              contentType: "application/x-www-form-urlencoded"))
    }

    /// A long-poll client's connection is readable: each whole answer (a JSON array of frames) is
    /// handled, then the client polls again.
    func readPollClient(_ i: Int) throws {
        while true {
            let n = read(clients[i].fd, readBuffer, readCapacity)
            if n < 0 {
                if errno == EAGAIN { break }
                if errno == EINTR { continue }
                throw Failure.errno("read (long-poll client \(i + 1))")
            }
            if n == 0 { throw Failure("server closed long-poll client \(i + 1)'s connection") }
            clients[i].leftover.append(contentsOf: UnsafeBufferPointer(start: readBuffer, count: n))
            if n < readCapacity { break }
        }
        let now = nowNanoseconds()
        while let response = try clients[i].leftover.withUnsafeBufferPointer({ try HTTP.parse($0) }) {
            let length = response.end - response.bodyStart
            guard length <= readCapacity else { throw Failure("long-poll answer larger than the read buffer") }
            clients[i].leftover.withUnsafeBufferPointer {
                readBuffer.update(from: $0.baseAddress! + response.bodyStart, count: length)
            }
            clients[i].leftover.removeFirst(response.end)
            guard response.status == 200 else {
                let text = String(decoding: UnsafeBufferPointer(start: readBuffer, count: min(length, 200)), as: UTF8.self)
                throw Failure("long-poll client \(i + 1): \(response.status) \(text)")
            }
            try handlePollFrames(i, readBuffer, length, now: now)
            try sendPoll(i)
        }
    }

    /// The frames of one long-poll answer: `[{"type":...},...]`.
    private func handlePollFrames(_ i: Int, _ body: UnsafeMutablePointer<UInt8>, _ count: Int, now: UInt64) throws {
        let marker: StaticString = "{\"type\":\""
        var starts: [Int] = []
        var k = 0
        while k + 9 <= count {
            if body[k] == 0x7B && startsWith(body + k, count - k, marker) {
                starts.append(k)
                k += 9
            } else {
                k += 1
            }
        }
        for (index, start) in starts.enumerated() {
            let end = index + 1 < starts.count ? starts[index + 1] : count
            let frame = body + start, length = end - start
            if startsWith(frame, length, "{\"type\":\"message\"") {
                guard clients[i].state == 2, let sent = messageTime(frame, length) else {
                    throw Failure("unexpected message on long-poll client \(i + 1)")
                }
                seen[i] = max(seen[i], frameSeq(frame, length))
                deliver(i, frame, length, sent: sent, now: now)
            } else if startsWith(frame, length, "{\"type\":\"opened\"") {
                sessions[i] = frameSession(frame, length)
                if clients[i].state == 1 {
                    clients[i].state = 2
                    let seq = openedSeq(frame, length)
                    seen[i] = seq
                    baseSeq[i] = seq
                    lastSeq[i] = seq
                    opened += 1
                }
            } else if !startsWith(frame, length, "{\"type\":\"pong\"") {
                let text = String(decoding: UnsafeBufferPointer(start: frame, count: min(length, 200)), as: UTF8.self)
                throw Failure("unexpected frame on long-poll client \(i + 1): \(text)")
            }
        }
    }

    /// N of `{"type":"message","seq":N,...}`.
    private func frameSeq(_ frame: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
        let prefix: StaticString = "{\"type\":\"message\",\"seq\":"
        var k = prefix.utf8CodeUnitCount
        var seq = 0
        while k < count, frame[k] >= 0x30, frame[k] <= 0x39 {
            seq = seq * 10 + Int(frame[k] - 0x30)
            k += 1
        }
        return seq
    }

    /// S of `{"type":"opened","session":"S",...}`.
    private func frameSession(_ frame: UnsafeMutablePointer<UInt8>, _ count: Int) -> String {
        let key: StaticString = "\"session\":\""
        var k = 0
        while k + key.utf8CodeUnitCount <= count {
            if startsWith(frame + k, count - k, key) {
                let from = k + key.utf8CodeUnitCount
                var to = from
                while to < count, frame[to] != 0x22 { to += 1 }
                return String(decoding: UnsafeBufferPointer(start: frame + from, count: to - from), as: UTF8.self)
            }
            k += 1
        }
        return ""
    }
}

// MARK: - hold

func hold(_ options: Options) throws {
    let count = try options.int("clients", 1000)
    let prefix = options.string("id-prefix", "h")
    let transport = options.string("transport", "ws")
    let size = try options.int("size", 32)
    let posterCount = try options.int("posters", 8)
    guard count >= 1, size >= 22, size <= 16_000, posterCount >= 1, transport == "ws" || transport == "poll" else {
        throw Failure("bad --clients, --size, --posters or --transport (ws|poll)")
    }
    guard let kind = Kind(rawValue: options.string("kind", "")) else { throw Failure("--kind courier|hummingbird|node") }
    guard transport == "ws" || kind != .hummingbird else { throw Failure("hummingbird has no long-poll transport") }
    let bench = try makeBench(options, ids: (0..<count).map { "\(prefix)\($0)" }, checkSeq: kind != .hummingbird,
                              longPoll: transport == "poll")
    bench.topicCount = Array(repeating: 0, count: count)
    if bench.receivedCount.isEmpty {
        bench.receivedCount = Array(repeating: 0, count: count)
        bench.acknowledged = bench.receivedCount
        bench.acknowledgedMax = bench.receivedCount
        bench.baseSeq = bench.receivedCount
    }
    try bench.watchStdin()

    let start = nowNanoseconds()
    try bench.fetchTokens()
    let tokensDone = nowNanoseconds()
    try bench.openAll(window: try options.int("window", 64), timeout: try options.double("open-timeout", 600))
    let done = nowNanoseconds()
    answer("ready clients=\(count) connect_seconds=\(fixed(Double(done - start) / 1e9, 2)) token_seconds=\(fixed(Double(tokensDone - start) / 1e9, 2))")

    var published = 0
    while true {
        while let line = bench.nextCommand() {
            let words = line.split(separator: " ").map(String.init)
            guard let command = words.first else { continue }
            do {
                switch command {
                case "send":
                    guard words.count == 4, let rate = Double(words[1]), let seconds = Double(words[2]), rate > 0, seconds > 0 else {
                        throw Failure("usage: send RATE SECONDS FILE")
                    }
                    answer(try holdSend(bench, count: count, rate: rate, seconds: seconds, file: words[3], size: size,
                                        posters: posterCount, drain: try options.double("drain", 10)))
                case "subscribe":
                    guard words.count == 2 else { throw Failure("usage: subscribe TOPIC") }
                    let t0 = nowNanoseconds()
                    try bench.subscribeAll(topic: words[1], between: { try bench.poll(timeoutMilliseconds: 0) })
                    answer("ok subscribe clients=\(count) seconds=\(fixed(Double(nowNanoseconds() - t0) / 1e9, 3))")
                case "await-publish":
                    guard words.count == 3, let target = Int(words[1]), let timeout = Double(words[2]), target >= 1 else {
                        throw Failure("usage: await-publish COUNT TIMEOUT")
                    }
                    published = max(published, target)
                    bench.topicTarget = target
                    bench.topicReached = bench.topicCount.filter { $0 >= target }.count
                    let deadline = nowNanoseconds() + UInt64(timeout * 1e9)
                    while bench.topicReached < count && nowNanoseconds() < deadline {
                        try bench.poll(timeoutMilliseconds: 5)
                    }
                    let reached = bench.topicReached
                    let slowest = bench.topicMaxLatency, quickest = bench.topicMinLatency
                    answer("\(reached == count ? "ok" : "timeout") await-publish reached=\(reached) clients=\(count) "
                        + "max_us=\(micros(slowest)) min_us=\(quickest == .max ? "nan" : micros(quickest)) "
                        + "topic_messages=\(bench.topicCount.reduce(0, +))")
                case "check":
                    guard words.count == 2, let publishes = Int(words[1]) else { throw Failure("usage: check PUBLISHES") }
                    answer(holdCheck(bench, publishes: publishes))
                case "stats":
                    answer("ok stats pings=\(bench.pingsReceived) messages=\(bench.receivedCount.reduce(0, +)) opened=\(bench.opened)")
                case "close":
                    for client in bench.clients { close(client.fd) }
                    bench.clients = []
                    bench.closePosters()
                    answer("ok close")
                    exit(0)
                default:
                    throw Failure("unknown command")
                }
            } catch {
                answer("error \(command) \(error)")
                printError("ChannelLoad hold: \(command): \(error)")
                exit(1)
            }
        }
        if bench.stdinClosed {
            printError("ChannelLoad hold: stdin closed; closing \(bench.clients.count) clients")
            exit(0)
        }
        do {
            try bench.poll(timeoutMilliseconds: 1000)
        } catch {
            answer("error idle \(error)")
            printError("ChannelLoad hold: \(error)")
            exit(1)
        }
    }
}

/// `send RATE SECONDS FILE`.
private func holdSend(_ bench: Bench, count: Int, rate: Double, seconds: Double, file: String, size: Int,
                      posters: Int, drain: Double) throws -> String {
    bench.delivered = 0
    bench.deliveredInWindow = 0
    bench.postsAnswered = 0
    bench.postErrors = 0
    bench.histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    bench.fromSendHistogram = bench.histogram
    bench.postHistogram = bench.histogram
    bench.writeStarted = [:]
    bench.rawLatencies = []
    bench.rawLatencies!.reserveCapacity(Int(rate * seconds) + 16)
    try bench.openPosters(posters)
    defer { bench.closePosters() }
    var cpu = CPUMeter(serverPID: nil)
    let outcome = try runSchedule(bench, count: count, rate: rate, warmup: 0, duration: seconds, size: size,
                                  drain: drain, spin: false, offset: 0, cpu: &cpu)
    let missing = outcome.sentInWindow - Int(bench.histogram.totalCount)
    var raw = bench.rawLatencies ?? []
    bench.rawLatencies = nil
    if missing > 0 {
        let lowerBound = (nowNanoseconds() - bench.measureEnd) / 1000
        raw += Array(repeating: UInt32(min(lowerBound, UInt64(UInt32.max))), count: missing)
        bench.histogram.record(lowerBound * 1000, count: UInt64(missing))
    }
    var text = ""
    text.reserveCapacity(raw.count * 6)
    for value in raw { text += String(value); text += "\n" }
    guard let handle = fopen(file, "w") else { throw Failure.errno("open \(file)") }
    _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress!, 1, $0.count - 1, handle) }
    fclose(handle)
    let h = bench.histogram
    bench.measureFrom = .max
    bench.measureEnd = .max
    return "ok send sent=\(outcome.sent) delivered=\(bench.delivered) lost=\(outcome.sent - bench.delivered) "
        + "missing_in_window=\(missing) recorded=\(raw.count) p50_us=\(micros(h.valueAtPercentile(50))) "
        + "p99_us=\(micros(h.valueAtPercentile(99))) p999_us=\(micros(h.valueAtPercentile(99.9))) max_us=\(micros(h.max)) "
        + "send_late_p99_us=\(micros(outcome.lateness.valueAtPercentile(99))) "
        + "post_p99_us=\(micros(bench.postHistogram.valueAtPercentile(99))) post_errors=\(bench.postErrors)"
        + (bench.postErrors > 0 ? " last_post_error=" + (bench.lastPostError.split(separator: "\r\n").first ?? "").replacingSpaces : "")
}

/// `check PUBLISHES`.
private func holdCheck(_ bench: Bench, publishes: Int) -> String {
    var fields: [String] = []
    if bench.checkSeq {
        // A server that numbers topics apart (Redis) sends the publishes as topic frames: the
        // client's own sequence then holds only its direct messages.
        let topicFrames = !bench.topicReceived.isEmpty
        var problem = bench.reportSequences(expected: { bench.acknowledged[$0] + (topicFrames ? 0 : publishes) },
                                            emit: { fields.append("\($0)=\($1)") })
        if topicFrames {
            let short = bench.topicReceived.filter { $0 != publishes }.count
            fields += ["topic_received=\(bench.topicReceived.reduce(0, +))", "topic_expected=\(publishes * bench.ids.count)",
                       "topic_duplicates=\(bench.topicDuplicates)", "topic_gaps=\(bench.topicGaps)", "topic_incomplete_clients=\(short)"]
            if problem == nil && (short > 0 || bench.topicDuplicates > 0 || bench.topicGaps > 0) {
                problem = "topic frames: \(short) clients without exactly \(publishes), \(bench.topicDuplicates) duplicates, \(bench.topicGaps) gaps"
            }
        }
        return "ok check exactly_once=\(problem == nil ? "yes" : "no") " + fields.joined(separator: " ")
            + (problem.map { " problem=" + $0.replacingSpaces } ?? "")
    }
    // Hummingbird: no seqs; each client's count against what was acknowledged to it.
    var incomplete = 0, expected = 0, received = 0
    for i in 0..<bench.ids.count {
        let want = bench.acknowledged[i] + publishes
        expected += want
        received += bench.receivedCount[i]
        if bench.receivedCount[i] != want { incomplete += 1 }
    }
    return "ok check exactly_once=\(incomplete == 0 ? "counts-only" : "no") seq_clients=\(bench.ids.count) "
        + "seq_expected=\(expected) seq_received=\(received) seq_incomplete_clients=\(incomplete)"
}

extension StringProtocol {
    /// One word for a `key=value` answer.
    var replacingSpaces: String { String(map { $0 == " " ? "_" : $0 }) }
}
