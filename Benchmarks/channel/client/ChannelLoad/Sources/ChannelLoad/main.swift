// ChannelLoad: the load client of Benchmarks/channel/run.sh.
//
//   ChannelLoad probe   --port P --kind courier|hummingbird
//       one client opens its channel, one POST /send, exit 0 when the message arrives
//   ChannelLoad latency --port P --kind K [--clients 1000] [--rate 10000] [--size 32]
//                       [--warmup 2] [--duration 10] [--posters 16] [--server-pid PID]
//       opens --clients WebSocket clients (each speaking the server's protocol, below),
//       then sends --rate messages/s in all with POST /send?c=ID, the target client going
//       round-robin, over --posters keep-alive HTTP connections (one request in flight on
//       each). Each message is due at a fixed time on the schedule and carries that time;
//       its latency is from that time to its arrival at its client (no coordinated
//       omission: a late POST counts its wait). Messages due in the warm-up are not recorded.
//       [--spin 1] the client spins between messages so that POSTs leave on time (a core of its
//       own); --spin 0 sleeps in epoll_pwait2 until the next is due or something arrives
//       (for a machine whose cores the client shares with the servers).
//   ChannelLoad fanout  --port P --kind K [--subscribers 10000] [--in-flight 4]
//                       [--warmup 2] [--duration 10] [--server-pid PID]
//       opens --subscribers clients, subscribes each to one topic (POST /subscribe), then
//       keeps --in-flight POST /publish requests going and counts the message frames that
//       arrive at the clients: delivered messages per second over --duration, after
//       --warmup. The latency from each publish's send to each copy's arrival is recorded too.
//   ChannelLoad throughput --port P --kind K [--clients 300] [--posters 48] [--size 32]
//                       [--warmup 2] [--duration 10] [--drain 30] [--post-offset mixed]
//       opens --clients clients, then keeps every one of --posters keep-alive connections
//       busy with POST /send (closed loop: the next POST as soon as one is answered), the
//       target client round-robin, and counts the message frames that arrive at the clients:
//       delivered messages per second over --duration, after --warmup. [--batch K] (--kind
//       node) each POST carries K messages, for the next K clients in turn (the server sends
//       each as its own message and answers their seqs), as an app that sends to many
//       clients from one request does.
//   Common: [--host 127.0.0.1] [--sources 127.0.0.2,127.0.0.3] (source addresses the
//       WebSocket connections are spread over) [--window 64] (handshakes in flight)
//       [--cpu-pids name:PID,name:PID] (besides --server-pid: each process's CPU in the
//       window, as cpu_<name>=cores, and their sum as cpus_total)
//
// Several servers (a cluster of ChannelNode processes on one Redis, --kind node):
//   --ports P1,P2,P3   instead of --port: client i connects to port i mod n (through the
//       real protocol), and the POST connections are spread over the ports in turn;
//   --post-offset K    (latency, throughput) the message for a client on port k is POSTed
//       to port (k + K) mod n: 0 the client's own node, 1 the next one; "mixed" (throughput's
//       default) moves on by one port each round over the clients, so a third of the
//       messages go to the client's own node of three and the rest to the others.
//   With --kind node every client also checks its sequence numbers: each "seq" must be the
//   one after the last it had (one at or below it counts as a duplicate, one beyond it as a
//   gap of the seqs skipped), starting after its "opened" frame's, and at the end it
//   must have had exactly the messages the server acknowledged for it (each POST /send's
//   answer is the seq) or, in fan-out, one per publish: seq_* lines, and a non-zero exit
//   when any of them is off.
//
// Protocols. courier: POST /token?c=ID gives the token; GET /_ah/channel/ws; first frame
// {"type":"open","token":T,"session":"","seq":0}; the server answers {"type":"opened",...}
// and then sends {"type":"message","seq":N,"data":"<message>"} (docs/channel-protocol.md).
// hummingbird: GET /ws?c=ID; the server sends {"type":"opened"} once registered, then each
// message as a text frame. node (Examples/ChannelNode): GET /token?client=ID, then as courier;
// POST /send, /publish and /subscribe with form fields (client, message; topic, message;
// client, topic); /publish answers 204 before Redis has run it, so in fan-out a publish counts
// as in flight until all its copies have arrived. In every case a message's body is "@" + 19
// digits (a CLOCK_MONOTONIC time in ns) + "#" + padding, found by looking for the "@" (in a
// form field, "@" and "#" are percent-encoded).
//
// Output: `key=value` lines on stdout (times in microseconds); errors on stderr with a
// non-zero exit. One thread, epoll(7).
import CEpoll
import Histogram

#if canImport(Glibc)
import Glibc
#endif

enum Kind: String {
    case courier, hummingbird, node
}

/// A message body: "@" + the time in 19 digits + "#" + padding to `size` bytes.
func messageBody(time: UInt64, size: Int) -> [UInt8] {
    var body = [UInt8](repeating: 0x61, count: max(size, 21))
    body[0] = 0x40
    var t = time
    for i in stride(from: 19, through: 1, by: -1) {
        body[i] = 0x30 + UInt8(t % 10)
        t /= 10
    }
    body[20] = 0x23
    for i in 21..<body.count { body[i] = 0x61 + UInt8(i % 26) }
    return body
}

/// The time in a message body found in `payload`, or nil when it holds none.
@inline(__always)
func messageTime(_ payload: UnsafePointer<UInt8>, _ count: Int) -> UInt64? {
    var i = 0
    while i + 20 <= count {
        if payload[i] == 0x40 {
            var t: UInt64 = 0
            for j in 1...19 {
                let d = payload[i + j] &- 0x30
                guard d < 10 else { return nil }
                t = t &* 10 &+ UInt64(d)
            }
            return t
        }
        i += 1
    }
    return nil
}

func startsWith(_ payload: UnsafePointer<UInt8>, _ count: Int, _ prefix: StaticString) -> Bool {
    let length = prefix.utf8CodeUnitCount
    return count >= length && memcmp(payload, prefix.utf8Start, length) == 0
}

struct WSClient {
    var fd: Int32
    /// 0: waiting for the handshake answer, 1: waiting for "opened", 2: open.
    var state: UInt8 = 0
    /// Bytes of a frame (or head) that has not all arrived yet.
    var leftover: [UInt8] = []
    var mask: (UInt8, UInt8, UInt8, UInt8)
}

struct Poster {
    var fd: Int32
    var received: [UInt8] = []
    var busy = false
    var sentAt: UInt64 = 0
    /// Which of the servers (--ports) it is connected to.
    var node = 0
    /// The clients its request is for (a send: one, or a batch's in order), or empty.
    var clients: [Int] = []
}

/// Many WebSocket clients and a few HTTP connections on one epoll set.
final class Bench {
    let kind: Kind
    let host: String
    let port: Int
    let destination: sockaddr_in
    /// Every server (--ports); `port` and `destination` are the first.
    let ports: [Int]
    let destinations: [sockaddr_in]
    let ids: [String]
    let sources: [sockaddr_in]
    let epoll: Int32
    let readCapacity = 1 << 18
    let readBuffer: UnsafeMutablePointer<UInt8>
    var events = [epoll_event](repeating: epoll_event(), count: 1024)

    var clients: [WSClient] = []
    var tokens: [String] = []
    var opened = 0
    var posters: [Poster] = []
    /// Per server, the posters free to take a request, the longest-free first.
    var freePosters: [[Int]] = []

    // Measuring.
    var measureFrom: UInt64 = .max
    var measureEnd: UInt64 = .max
    var delivered = 0           // message frames, in all
    var deliveredInWindow = 0   // message frames that arrived in [measureFrom, measureEnd)
    var lastDelivery: UInt64 = 0
    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    /// POST round trips (request written to response read) sent in the window.
    var postHistogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    /// A message of the window's scheduled time → when its POST began to be written; and the
    /// latency from there to arrival. The schedule-based `histogram` also counts how late the
    /// client itself was in sending (its core, a busy poster); this one leaves that out.
    var writeStarted: [UInt64: UInt64] = [:]
    var fromSendHistogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    var postErrors = 0
    var lastPostError = ""
    var postsAnswered = 0
    var publishAnswer: String?

    // Exactly once, per client (kind node): the last seq seen, the message frames, what went
    // wrong, and what the server acknowledged (POST /send answers: how many, the highest seq).
    let checkSeq: Bool
    /// The seq of each client's "opened" frame: its messages follow it.
    var baseSeq: [Int] = []
    var lastSeq: [Int] = []
    var receivedCount: [Int] = []
    var seqDuplicates = 0
    var seqGaps = 0
    var seqUnparsed = 0
    var acknowledged: [Int] = []
    var acknowledgedMax: [Int] = []

    // Hold mode (Hold.swift).
    /// The clients long-poll (POST /_ah/channel/poll) instead of holding a WebSocket.
    let longPoll: Bool
    /// Long-poll: each client's session ID and the highest seq it has been handed.
    var sessions: [String] = []
    var seen: [Int] = []
    /// When set, the latency (µs) of every message of the window, for merging percentiles
    /// across processes.
    var rawLatencies: [UInt32]?
    /// Topic messages (their body's time is followed by "#T"): per client, how many; the
    /// clients that have reached `topicTarget`; the slowest and quickest arrival after the time
    /// in the body.
    var topicCount: [Int] = []
    /// A topic's frames numbered by the topic (`{"type":"message","topic":T,"seq":K,...}`, the
    /// Redis engine): per client, the last K and how many came (one topic per client here);
    /// checked apart from the client's own sequence.
    var topicLastSeq: [Int] = []
    var topicReceived: [Int] = []
    var topicDuplicates = 0
    var topicGaps = 0
    var topicTarget = Int.max
    var topicReached = 0
    var topicMaxLatency: UInt64 = 0
    var topicMinLatency: UInt64 = .max
    /// stdin (the orchestrator's commands), when watched: what has been read of it.
    var stdinBuffer: [UInt8] = []
    var stdinClosed = false
    /// WebSocket pings from the server, answered.
    var pingsReceived = 0
    static let stdinTag = UInt32.max

    init(kind: Kind, host: String, ports: [Int], ids: [String], sources: [sockaddr_in], checkSeq: Bool? = nil, longPoll: Bool = false) throws {
        guard !ports.isEmpty else { throw Failure("no server port") }
        self.kind = kind
        self.host = host
        self.ports = ports
        destinations = try ports.map { try ipv4Address(host, port: $0) }
        port = ports[0]
        destination = destinations[0]
        freePosters = Array(repeating: [], count: ports.count)
        self.checkSeq = checkSeq ?? (kind == .node)
        self.longPoll = longPoll
        if self.checkSeq || longPoll {
            lastSeq = Array(repeating: 0, count: ids.count)
            baseSeq = lastSeq
            receivedCount = lastSeq
            acknowledged = lastSeq
            acknowledgedMax = lastSeq
        }
        if longPoll {
            sessions = Array(repeating: "", count: ids.count)
            seen = Array(repeating: 0, count: ids.count)
        }
        self.ids = ids
        self.sources = sources
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epoll >= 0 else { throw Failure.errno("epoll_create1") }
        readBuffer = .allocate(capacity: readCapacity)
        _ = raiseOpenFilesLimit(to: ids.count + 512)
    }

    deinit {
        for client in clients { close(client.fd) }
        for poster in posters { close(poster.fd) }
        close(epoll)
        readBuffer.deallocate()
    }

    func watch(_ fd: Int32, tag: Int) throws {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u32 = UInt32(tag)
        guard epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0 else { throw Failure.errno("epoll_ctl") }
    }

    // MARK: Setup

    /// Courier: a token for every client, over one keep-alive connection (ChannelNode: GET
    /// /token?client=ID from the first server; the nodes share the secret).
    func fetchTokens() throws {
        guard kind != .hummingbird else { return }
        let http = try BlockingHTTP(to: destination, host: host)
        let node = kind == .node
        let answers = node ? try http.postAll(ids.map { "/token?client=\($0)" }, method: "GET")
                           : try http.postAll(ids.map { "/token?c=\($0)" })
        for (id, answer) in zip(ids, answers) {
            guard answer.status == 200, !answer.body.isEmpty else {
                throw Failure("\(node ? "GET /token?client" : "POST /token?c")=\(id): \(answer.status) \(answer.body)")
            }
        }
        tokens = answers.map(\.body)
    }

    func subscribeAll(topic: String, between: () throws -> Void = {}) throws {
        let http = try BlockingHTTP(to: destination, host: host)
        let targets = kind == .node ? ids.map { "/subscribe?client=\($0)&topic=\(topic)" } : ids.map { "/subscribe?c=\($0)&t=\(topic)" }
        let answers = try http.postAll(targets, between: between)
        for (target, answer) in zip(targets, answers) where !(200..<300).contains(answer.status) {
            throw Failure("POST \(target): \(answer.status) \(answer.body)")
        }
    }

    /// Which server client `i` is connected to.
    @inline(__always)
    func node(ofClient i: Int) -> Int { i % ports.count }

    /// A message body as a form field value: "@" and "#" percent-encoded (the rest of a
    /// `messageBody` is digits and letters).
    static func formValue(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(body.count + 4)
        for byte in body {
            switch byte {
            case 0x40: out += [0x25, 0x34, 0x30]
            case 0x23: out += [0x25, 0x32, 0x33]
            default: out.append(byte)
            }
        }
        return out
    }

    /// POST a message to client `i` through server `node`: the request as the server kind
    /// takes it.
    @discardableResult
    func send(to i: Int, body: [UInt8], node: Int) throws -> UInt64 {
        if kind == .node {
            let form = Array("client=\(ids[i])&message=".utf8) + Bench.formValue(body)
            return try post("/send", body: form, node: node, clients: [i], contentType: "application/x-www-form-urlencoded")
        }
        return try post("/send?c=\(ids[i])", body: body, node: node, clients: [i])
    }

    /// One POST /send carrying a message for each of `clients` (ChannelNode takes repeated
    /// client and message fields and answers the seqs, comma-separated, in order).
    func send(batch clients: [Int], body: () -> [UInt8], node: Int) throws {
        var form: [UInt8] = []
        for i in clients {
            if !form.isEmpty { form.append(UInt8(ascii: "&")) }
            form += Array("client=\(ids[i])&message=".utf8) + Bench.formValue(body())
        }
        try post("/send", body: form, node: node, clients: clients, contentType: "application/x-www-form-urlencoded")
    }

    /// POST a publish to `topic` through server `node`.
    func publish(topic: String, body: [UInt8], node: Int) throws {
        if kind == .node {
            let form = Array("topic=\(topic)&message=".utf8) + Bench.formValue(body)
            try post("/publish", body: form, node: node, contentType: "application/x-www-form-urlencoded")
        } else {
            try post("/publish?t=\(topic)", body: body, node: node)
        }
    }

    /// The first server from `start` on (in turn) with a free poster.
    func freeNode(from start: Int) -> Int? {
        for k in 0..<ports.count where !freePosters[(start + k) % ports.count].isEmpty {
            return (start + k) % ports.count
        }
        return nil
    }

    /// Opens every client's channel: at most `window` handshakes in flight; done when each
    /// has had its "opened" frame.
    func openAll(window: Int, timeout: Double) throws {
        let deadline = nowNanoseconds() + UInt64(timeout * 1e9)
        clients.reserveCapacity(ids.count)
        while opened < ids.count {
            while clients.count < ids.count && clients.count - opened < window {
                let i = clients.count
                let fd: Int32
                do {
                    fd = try connectTCP(to: destinations[node(ofClient: i)], from: sources.isEmpty ? nil : sources[i % sources.count])
                } catch {
                    throw Failure("client \(i + 1): \(error)")
                }
                if longPoll {
                    setNonBlocking(fd)
                    clients.append(WSClient(fd: fd, state: 1, mask: (0, 0, 0, 0)))
                    try watch(fd, tag: i)
                    try sendPoll(i)
                    continue
                }
                let path = kind == .hummingbird ? "/ws?c=\(ids[i])" : "/_ah/channel/ws"
                try writeAll(fd, Handshake.request(host: host, port: ports[node(ofClient: i)], path: path))
                setNonBlocking(fd)
                let mask = (UInt8(truncatingIfNeeded: i &* 31 &+ 7), UInt8(truncatingIfNeeded: i &* 17 &+ 3),
                            UInt8(0x5A), UInt8(truncatingIfNeeded: i))
                clients.append(WSClient(fd: fd, mask: mask))
                try watch(fd, tag: i)
            }
            try poll(timeoutMilliseconds: 100)
            if nowNanoseconds() > deadline {
                throw Failure("timed out after \(timeout) s with \(opened) of \(ids.count) channels open")
            }
        }
    }

    /// Keep-alive HTTP connections for the POSTs of the run, spread over the servers in turn.
    func openPosters(_ count: Int) throws {
        for j in 0..<count {
            let node = j % ports.count
            let fd = try connectTCP(to: destinations[node], from: nil)
            setNonBlocking(fd)
            posters.append(Poster(fd: fd, node: node))
            freePosters[node].append(j)
            try watch(fd, tag: ids.count + j)
        }
    }

    /// Returns when the request began to be written.
    @discardableResult
    func post(_ target: String, body: [UInt8], node: Int = 0, clients: [Int] = [], contentType: String = "text/plain") throws -> UInt64 {
        // The longest-free connection first, so every one carries requests: one left unused
        // would get Courier's 408 after its 10 s header timeout (a new connection that sends
        // nothing), a response this client did not ask for.
        guard !freePosters[node].isEmpty else { throw Failure("no free HTTP connection") }
        let j = freePosters[node].removeFirst()
        posters[j].busy = true
        posters[j].clients = clients
        let start = nowNanoseconds()
        posters[j].sentAt = start
        try writeAll(posters[j].fd, HTTP.post(target, host: host, body: body, contentType: contentType))
        return start
    }

    // MARK: Events

    func poll(timeoutMilliseconds: Int32) throws {
        try handle(epoll_wait(epoll, &events, Int32(events.count), timeoutMilliseconds))
    }

    /// `poll` with a timeout to the nanosecond (epoll_pwait2), for a client that sleeps
    /// between messages instead of spinning.
    func poll(timeoutNanoseconds: UInt64) throws {
        var timeout = timespec(tv_sec: Int(timeoutNanoseconds / 1_000_000_000), tv_nsec: Int(timeoutNanoseconds % 1_000_000_000))
        try handle(epoll_pwait2(epoll, &events, Int32(events.count), &timeout, nil))
    }

    private func handle(_ ready: Int32) throws {
        if ready < 0 {
            if errno == EINTR { return }
            throw Failure.errno("epoll_wait")
        }
        for e in 0..<Int(ready) {
            if events[e].data.u32 == Bench.stdinTag {
                readStdin()
                continue
            }
            let tag = Int(events[e].data.u32)
            if tag < ids.count && longPoll {
                try readPollClient(tag)
            } else if tag < ids.count {
                try readClient(tag)
            } else {
                try readPoster(tag - ids.count)
            }
        }
    }

    private func readClient(_ i: Int) throws {
        while true {
            let carried = clients[i].leftover.count
            if carried > 0 {
                clients[i].leftover.withUnsafeBufferPointer { readBuffer.update(from: $0.baseAddress!, count: carried) }
                clients[i].leftover.removeAll()
            }
            let room = readCapacity - carried
            let n = read(clients[i].fd, readBuffer + carried, room)
            if n < 0 {
                if errno == EAGAIN {
                    if carried > 0 { clients[i].leftover = Array(UnsafeBufferPointer(start: readBuffer, count: carried)) }
                    return
                }
                if errno == EINTR { continue }
                throw Failure.errno("read (client \(i + 1))")
            }
            if n == 0 { throw Failure("server closed client \(i + 1)'s connection") }
            let total = carried + n
            let now = nowNanoseconds()
            var offset = 0
            if clients[i].state == 0 {
                guard let end = Handshake.headEnd(UnsafeBufferPointer(start: readBuffer, count: total)) else {
                    if total > 16384 { throw Failure("handshake response head too long") }
                    clients[i].leftover = Array(UnsafeBufferPointer(start: readBuffer, count: total))
                    continue
                }
                try Handshake.check(head: Array(UnsafeBufferPointer(start: readBuffer, count: end)))
                clients[i].state = 1
                if kind != .hummingbird {
                    let open = "{\"type\":\"open\",\"token\":\"\(tokens[i])\",\"session\":\"\",\"seq\":0}"
                    try writeAll(clients[i].fd, Frame.masked(opcode: 1, payload: Array(open.utf8), mask: clients[i].mask))
                }
                offset = end
            }
            let bytes = UnsafeBufferPointer(start: UnsafePointer(readBuffer), count: total)
            while let frame = try Frame.parse(bytes, from: offset, count: total) {
                guard frame.fin else { throw Failure("fragmented frame on client \(i + 1)") }
                try handleFrame(i, opcode: frame.opcode, readBuffer + frame.payloadStart, frame.payloadLength, now: now)
                offset = frame.end
            }
            if offset < total {
                if total - offset >= readCapacity { throw Failure("frame larger than the read buffer") }
                clients[i].leftover = Array(UnsafeBufferPointer(start: readBuffer + offset, count: total - offset))
            }
            if n < room { return }
        }
    }

    private func handleFrame(_ i: Int, opcode: UInt8, _ payload: UnsafeMutablePointer<UInt8>, _ count: Int, now: UInt64) throws {
        switch opcode {
        case 1:
            if clients[i].state == 2, let sent = messageTime(payload, count) {
                deliver(i, payload, count, sent: sent, now: now)
            } else if clients[i].state == 1 && startsWith(payload, count, "{\"type\":\"opened\"") {
                clients[i].state = 2
                if checkSeq { baseSeq[i] = openedSeq(payload, count); lastSeq[i] = baseSeq[i] }
                opened += 1
            } else {
                let text = String(decoding: UnsafeBufferPointer(start: payload, count: min(count, 200)), as: UTF8.self)
                throw Failure("unexpected frame on client \(i + 1): \(text)")
            }
        case 9:
            pingsReceived += 1
            let ping = Array(UnsafeBufferPointer(start: payload, count: count))
            try writeAll(clients[i].fd, Frame.masked(opcode: 10, payload: ping, mask: clients[i].mask))
        case 10:
            break
        case 8:
            let code = count >= 2 ? Int(payload[0]) << 8 | Int(payload[1]) : 0
            let reason = count > 2 ? String(decoding: UnsafeBufferPointer(start: payload + 2, count: count - 2), as: UTF8.self) : ""
            throw Failure("server closed client \(i + 1) with code \(code) \(reason)")
        default:
            throw Failure("unexpected opcode \(opcode) on client \(i + 1)")
        }
    }

    /// A message frame that arrived at client `i`, carrying the time `sent`.
    @inline(__always)
    func deliver(_ i: Int, _ payload: UnsafeMutablePointer<UInt8>, _ count: Int, sent: UInt64, now: UInt64) {
        if checkSeq { checkSequence(i, payload, count) } else if !receivedCount.isEmpty { receivedCount[i] += 1 }
        delivered += 1
        lastDelivery = now
        if now >= measureFrom && now < measureEnd { deliveredInWindow += 1 }
        if sent >= measureFrom && sent < measureEnd {
            histogram.record(now &- sent)
            if let start = writeStarted.removeValue(forKey: sent) { fromSendHistogram.record(now &- start) }
            if rawLatencies != nil { rawLatencies!.append(UInt32(min((now &- sent) / 1000, UInt64(UInt32.max)))) }
        }
        if !topicCount.isEmpty && isTopicMessage(payload, count) {
            topicCount[i] += 1
            if topicCount[i] == topicTarget { topicReached += 1 }
            let latency = now &- sent
            topicMaxLatency = max(topicMaxLatency, latency)
            topicMinLatency = min(topicMinLatency, latency)
        }
    }

    /// N of `{"type":"opened","session":S,"seq":N}`.
    func openedSeq(_ payload: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
        let key = Array("\"seq\":".utf8)
        var k = 0
        while k + key.count <= count {
            if (0..<key.count).allSatisfy({ payload[k + $0] == key[$0] }) {
                var seq = 0
                var d = k + key.count
                while d < count, payload[d] >= 0x30, payload[d] <= 0x39 {
                    seq = seq * 10 + Int(payload[d] - 0x30)
                    d += 1
                }
                return seq
            }
            k += 1
        }
        seqUnparsed += 1
        return 0
    }

    /// `{"type":"message","seq":N,...}`: N must follow the client's last seq.
    func checkSequence(_ i: Int, _ payload: UnsafeMutablePointer<UInt8>, _ count: Int) {
        if startsWith(payload, count, "{\"type\":\"message\",\"topic\":") { return checkTopicSequence(i, payload, count) }
        let prefix: StaticString = "{\"type\":\"message\",\"seq\":"
        var k = prefix.utf8CodeUnitCount
        guard startsWith(payload, count, prefix), k < count else { seqUnparsed += 1; return }
        var seq = 0
        while k < count, payload[k] >= 0x30, payload[k] <= 0x39 {
            seq = seq * 10 + Int(payload[k] - 0x30)
            k += 1
        }
        receivedCount[i] += 1
        if seq <= lastSeq[i] {
            seqDuplicates += 1
            return
        }
        if seq > lastSeq[i] + 1 { seqGaps += seq - lastSeq[i] - 1 }
        lastSeq[i] = seq
    }

    /// `{"type":"message","topic":"T","seq":K,...}`: K must follow the last K this client had
    /// (the first one it has starts its count).
    func checkTopicSequence(_ i: Int, _ payload: UnsafeMutablePointer<UInt8>, _ count: Int) {
        if topicLastSeq.isEmpty {
            topicLastSeq = Array(repeating: 0, count: ids.count)
            topicReceived = topicLastSeq
        }
        let key = Array(",\"seq\":".utf8)
        var k = 0
        while k + key.count <= count, !(0..<key.count).allSatisfy({ payload[k + $0] == key[$0] }) { k += 1 }
        k += key.count
        var seq = 0
        while k < count, payload[k] >= 0x30, payload[k] <= 0x39 {
            seq = seq * 10 + Int(payload[k] - 0x30)
            k += 1
        }
        topicReceived[i] += 1
        if topicLastSeq[i] > 0 && seq <= topicLastSeq[i] {
            topicDuplicates += 1
            return
        }
        if topicLastSeq[i] > 0 && seq > topicLastSeq[i] + 1 { topicGaps += seq - topicLastSeq[i] - 1 }
        topicLastSeq[i] = seq
    }

    /// The exactly-once check at the end of a run: `expected(i)` is how many messages client i
    /// must have had, the seqs after its "opened" frame's. Emits seq_* lines; returns a
    /// description of what was off, or nil.
    func reportSequences(expected: (Int) -> Int, emit: (String, CustomStringConvertible) -> Void = emit) -> String? {
        guard checkSeq else { return nil }
        var incomplete = 0, beyond = 0, expectedTotal = 0, receivedTotal = 0, unacknowledgedOrder = 0
        var example = ""
        for i in 0..<ids.count {
            let want = expected(i)
            expectedTotal += want
            receivedTotal += receivedCount[i]
            let base = baseSeq[i]
            if lastSeq[i] > base + want { beyond += 1 }
            if receivedCount[i] != want || lastSeq[i] != base + want {
                incomplete += 1
                if example.isEmpty {
                    example = "\(ids[i]): expected seq \(base + 1)...\(base + want), had \(receivedCount[i]) messages, the last seq \(lastSeq[i])"
                }
            }
            if acknowledged[i] > 0 && acknowledgedMax[i] != base + acknowledged[i] { unacknowledgedOrder += 1 }
        }
        emit("seq_clients", ids.count)
        emit("seq_expected", expectedTotal)
        emit("seq_received", receivedTotal)
        emit("seq_duplicates", seqDuplicates)
        emit("seq_gaps", seqGaps)
        emit("seq_unparsed", seqUnparsed)
        emit("seq_incomplete_clients", incomplete)
        emit("seq_beyond_acknowledged_clients", beyond)
        emit("seq_acknowledged_not_dense_clients", unacknowledgedOrder)
        guard incomplete + seqDuplicates + seqGaps + seqUnparsed + beyond + unacknowledgedOrder > 0 else { return nil }
        return "sequence check: \(seqDuplicates) duplicates, \(seqGaps) seqs skipped, \(incomplete) clients incomplete, "
            + "\(beyond) beyond what was acknowledged, \(unacknowledgedOrder) whose acknowledged seqs do not follow the opened seq densely"
            + (example.isEmpty ? "" : " (e.g. \(example))")
    }

    private func readPoster(_ j: Int) throws {
        while true {
            let n = read(posters[j].fd, readBuffer, readCapacity)
            if n < 0 {
                if errno == EAGAIN { return }
                if errno == EINTR { continue }
                throw Failure.errno("read (HTTP connection \(j + 1))")
            }
            if n == 0 { throw Failure("server closed HTTP connection \(j + 1)") }
            posters[j].received.append(contentsOf: UnsafeBufferPointer(start: readBuffer, count: n))
            while let response = try posters[j].received.withUnsafeBufferPointer({ try HTTP.parse($0) }) {
                guard posters[j].busy else {
                    let text = String(decoding: posters[j].received[0..<response.end], as: UTF8.self)
                    throw Failure("a response nobody asked for on HTTP connection \(j + 1) (\(postsAnswered) answered before): \(text)")
                }
                if !(200..<300).contains(response.status) {
                    postErrors += 1
                    lastPostError = String(decoding: posters[j].received[0..<response.end], as: UTF8.self)
                } else if !acknowledged.isEmpty && kind != .node && !posters[j].clients.isEmpty {
                    // Courier's and Hummingbird's /send answer 204: the message was handed over.
                    for client in posters[j].clients {
                        acknowledged[client] += 1
                        acknowledgedMax[client] = baseSeq[client] + acknowledged[client]
                    }
                } else if checkSeq && !posters[j].clients.isEmpty {
                    // POST /send answers the messages' seqs, comma-separated.
                    var seq = 0, index = 0
                    for k in response.bodyStart...response.end {
                        let d = k < response.end ? posters[j].received[k] &- 0x30 : 0xFF
                        if d < 10 {
                            seq = seq * 10 + Int(d)
                            continue
                        }
                        guard index < posters[j].clients.count else { break }
                        let client = posters[j].clients[index]
                        acknowledged[client] += 1
                        acknowledgedMax[client] = max(acknowledgedMax[client], seq)
                        index += 1
                        seq = 0
                        if k < response.end && posters[j].received[k] != UInt8(ascii: ",") { break }
                    }
                } else if publishAnswer == nil, response.end > response.bodyStart {
                    publishAnswer = String(decoding: posters[j].received[response.bodyStart..<response.end], as: UTF8.self)
                }
                posters[j].received.removeFirst(response.end)
                if posters[j].sentAt >= measureFrom && posters[j].sentAt < measureEnd {
                    postHistogram.record(nowNanoseconds() &- posters[j].sentAt)
                }
                posters[j].busy = false
                posters[j].clients = []
                freePosters[posters[j].node].append(j)
                postsAnswered += 1
            }
            if n < readCapacity { return }
        }
    }
}

// MARK: - CPU

struct CPUMeter {
    let serverPID: Int32?
    var ownAtStart = 0.0
    var serverTicksAtStart: UInt64 = 0
    var startedAt: UInt64 = 0
    /// --cpu-pids: more processes, by name.
    var others: [(name: String, pid: Int32)] = []
    var othersAtStart: [UInt64] = []
    var othersAtEnd: [(String, Double)]?
    var machineAtStart: UInt64 = 0

    init(serverPID: Int32?, others: [(name: String, pid: Int32)] = []) {
        self.serverPID = serverPID
        self.others = others
    }

    mutating func start() {
        startedAt = nowNanoseconds()
        ownAtStart = ownCPUSeconds()
        if let serverPID { serverTicksAtStart = cpuTicks(pid: serverPID) ?? 0 }
        othersAtStart = others.map { cpuTicks(pid: $0.pid) ?? 0 }
        machineAtStart = machineBusyTicks() ?? 0
    }

    /// Each of --cpu-pids' processes in cores since `start`.
    func readOthers() -> [(String, Double)] {
        let seconds = Double(nowNanoseconds() - startedAt) / 1e9
        let tick = Double(sysconf(Int32(_SC_CLK_TCK)))
        return zip(others, othersAtStart).map { other, start in
            (other.name, Double((cpuTicks(pid: other.pid) ?? start) &- start) / tick / seconds)
        } + [("machine", Double((machineBusyTicks() ?? machineAtStart) &- machineAtStart) / tick / seconds)]
    }

    /// Emits cpu_<name> for each of --cpu-pids and their sum, cpus_total; and cpu_machine, every
    /// core's busy time (/proc/stat: all but idle and iowait), whoever spent it.
    func emitOthers() {
        guard !others.isEmpty else { return }
        let readings = othersAtEnd ?? readOthers()
        for (name, cores) in readings { emit("cpu_\(name)", fixed(cores, 2)) }
        emit("cpus_total", fixed(readings.filter { $0.0 != "machine" }.reduce(0) { $0 + $1.1 }, 2))
    }

    /// (client cores, server cores) since `start`.
    func read() -> (Double, Double?) {
        let seconds = Double(nowNanoseconds() - startedAt) / 1e9
        let client = (ownCPUSeconds() - ownAtStart) / seconds
        guard let serverPID, let ticks = cpuTicks(pid: serverPID) else { return (client, nil) }
        return (client, Double(ticks - serverTicksAtStart) / Double(sysconf(Int32(_SC_CLK_TCK))) / seconds)
    }

    var started = false
    var atEnd: (Double, Double?)?

    /// Called on every turn of a run's loop: starts at `from`, takes its reading at `end`.
    mutating func observe(now: UInt64, from: UInt64, end: UInt64) {
        if !started && now >= from {
            started = true
            start()
        }
        if started && atEnd == nil && now >= end {
            atEnd = read()
            if !others.isEmpty { othersAtEnd = readOthers() }
        }
    }

    /// The reading taken at the window's end (or now, for a run cut short).
    var reading: (Double, Double?) { atEnd ?? read() }
}

/// The busy clock ticks of all cores together, from the first line of /proc/stat.
func machineBusyTicks() -> UInt64? {
    guard let file = fopen("/proc/stat", "r") else { return nil }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 512)
    guard fgets(&line, Int32(line.count), file) != nil else { return nil }
    let fields = cString(line).split(separator: " ").dropFirst().compactMap { UInt64(String($0.filter(\.isNumber))) }
    guard fields.count >= 8 else { return nil }
    // user nice system idle iowait irq softirq steal
    return fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
}

func micros(_ nanoseconds: UInt64) -> String { fixed(Double(nanoseconds) / 1000, 1) }

func emitPercentiles(_ histogram: Histogram<UInt64>, prefix: String = "") {
    emit(prefix + "p50_us", micros(histogram.valueAtPercentile(50)))
    emit(prefix + "p90_us", micros(histogram.valueAtPercentile(90)))
    emit(prefix + "p99_us", micros(histogram.valueAtPercentile(99)))
    emit(prefix + "p999_us", micros(histogram.valueAtPercentile(99.9)))
    emit(prefix + "max_us", micros(histogram.max))
    emit(prefix + "mean_us", fixed(histogram.mean / 1000, 1))
}

func makeBench(_ options: Options, ids: [String], checkSeq: Bool? = nil, longPoll: Bool = false) throws -> Bench {
    guard let kind = Kind(rawValue: options.string("kind", "")) else { throw Failure("--kind courier|hummingbird|node") }
    let sources = try options.string("sources", "").split(separator: ",").map { try ipv4Address(String($0), port: 0) }
    var ports = [try options.int("port", 8080)]
    if let list = options.values["ports"] {
        ports = try list.split(separator: ",").map {
            guard let port = Int($0) else { throw Failure("--ports expects port numbers separated by commas, got \(list)") }
            return port
        }
    }
    return try Bench(kind: kind, host: options.string("host", "127.0.0.1"), ports: ports, ids: ids, sources: sources,
                     checkSeq: checkSeq, longPoll: longPoll)
}

/// --server-pid and --cpu-pids name:PID,...
func makeCPUMeter(_ options: Options) throws -> CPUMeter {
    let others = try options.string("cpu-pids", "").split(separator: ",").map { item -> (name: String, pid: Int32) in
        let parts = item.split(separator: ":")
        guard parts.count == 2, let pid = Int32(parts[1]) else { throw Failure("--cpu-pids expects name:PID,..., got \(item)") }
        return (String(parts[0]), pid)
    }
    return CPUMeter(serverPID: Int32(options.string("server-pid", "")), others: others)
}

/// --post-offset: the server a message to client `i` is POSTed to, the `round`th time round
/// the clients. nil offset: "mixed".
func postNode(_ bench: Bench, client i: Int, round: Int, offset: Int?) -> Int {
    let n = bench.ports.count
    return (bench.node(ofClient: i) + (offset ?? round)) % n
}

func postOffset(_ options: Options, _ fallback: String) throws -> Int? {
    let text = options.string("post-offset", fallback)
    if text == "mixed" { return nil }
    guard let k = Int(text), k >= 0 else { throw Failure("--post-offset expects a whole number or mixed, got \(text)") }
    return k
}

// MARK: - probe

func probe(_ options: Options) throws {
    let bench = try makeBench(options, ids: ["probe"])
    try bench.fetchTokens()
    try bench.openAll(window: 1, timeout: 2)
    let http = try BlockingHTTP(to: bench.destination, host: bench.host)
    let (status, body) = bench.kind == .node
        ? try http.post("/send?client=probe&message=" + String(decoding: Bench.formValue(messageBody(time: nowNanoseconds(), size: 32)), as: UTF8.self))
        : try http.post("/send?c=probe", body: messageBody(time: nowNanoseconds(), size: 32))
    guard (200..<300).contains(status) else { throw Failure("POST /send: \(status) \(body)") }
    let deadline = nowNanoseconds() + 2_000_000_000
    while bench.delivered == 0 {
        try bench.poll(timeoutMilliseconds: 100)
        if nowNanoseconds() > deadline { throw Failure("probe: the message did not arrive") }
    }
    emit("probe", "ok")
}

// MARK: - latency

/// What `runSchedule` did: messages handed to a POST, those of the window, and how late each
/// POST of the window left against its schedule.
struct ScheduleOutcome {
    var sent = 0
    var sentInWindow = 0
    /// A message's latency minus this is what the server (and the way back) took; this is the
    /// client's own share, waiting for a free poster or for its core.
    var lateness = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
}

/// The open-loop schedule of `latency` (and `hold`'s send): `rate` messages/s to clients
/// 0..<count round-robin for `warmup` + `duration` s, then up to `drain` s for the last to arrive.
func runSchedule(_ bench: Bench, count: Int, rate: Double, warmup: Double, duration: Double, size: Int,
                 drain: Double, spin: Bool, offset: Int?, cpu: inout CPUMeter) throws -> ScheduleOutcome {
    var outcome = ScheduleOutcome()
    let interval = 1e9 / rate
    let start = nowNanoseconds() + 1_000_000
    bench.measureFrom = start + UInt64(warmup * 1e9)
    bench.measureEnd = bench.measureFrom + UInt64(duration * 1e9)
    func due(_ k: Int) -> UInt64 { start + UInt64(Double(k) * interval) }
    var scheduled = 0   // messages due so far
    var sent = 0        // messages handed to a POST
    var sentInWindow = 0
    bench.lastDelivery = start
    // Sized up front: growing it mid-run would rehash ~100,000 entries on the client's thread.
    bench.writeStarted.reserveCapacity(Int(rate * (duration + 1)))

    while true {
        let now = nowNanoseconds()
        cpu.observe(now: now, from: bench.measureFrom, end: bench.measureEnd)
        if now < bench.measureEnd {
            while due(scheduled) <= now { scheduled += 1 }
        }
        while sent < scheduled {
            let node = postNode(bench, client: sent % count, round: sent / count, offset: offset)
            if bench.freePosters[node].isEmpty { break }
            let intended = due(sent)
            let start = try bench.send(to: sent % count, body: messageBody(time: intended, size: size), node: node)
            if intended >= bench.measureFrom && intended < bench.measureEnd {
                bench.writeStarted[intended] = start
                sentInWindow += 1
                outcome.lateness.record(nowNanoseconds() &- intended)
            }
            sent += 1
        }
        if now >= bench.measureEnd && sent == scheduled {
            if bench.delivered >= sent && bench.postsAnswered >= sent { break }
            if now > bench.measureEnd + UInt64(drain * 1e9) { break }
        }
        if sent > bench.delivered && now > bench.lastDelivery + 5_000_000_000 && now > start + 5_000_000_000 {
            throw Failure("no message arrived for 5 s (\(bench.delivered) of \(sent) delivered)")
        }
        if spin {
            // Spin, so POSTs leave on time.
            try bench.poll(timeoutMilliseconds: 0)
        } else {
            // Sleep until the next message is due (at most 1 ms), or something arrives.
            let now = nowNanoseconds()
            var wait: UInt64 = 1_000_000
            if now < bench.measureEnd {
                let next = due(scheduled)
                wait = next > now ? min(next - now, wait) : 0
            }
            try bench.poll(timeoutNanoseconds: wait)
        }
    }
    outcome.sent = sent
    outcome.sentInWindow = sentInWindow
    return outcome
}


func latency(_ options: Options) throws {
    let count = try options.int("clients", 1000)
    let rate = try options.double("rate", 10_000)
    let size = try options.int("size", 32)
    let warmup = try options.double("warmup", 2)
    let duration = try options.double("duration", 10)
    let posterCount = try options.int("posters", 16)
    let drain = try options.double("drain", 10)
    let spin = try options.int("spin", 1) != 0
    guard count >= 1, rate > 0, size >= 21, size <= 16_000, posterCount >= 1 else { throw Failure("bad --clients, --rate, --size or --posters") }
    let bench = try makeBench(options, ids: (0..<count).map { "c\($0)" })
    let offset = try postOffset(options, "0")
    var cpu = try makeCPUMeter(options)

    let setupStart = nowNanoseconds()
    try bench.fetchTokens()
    try bench.openAll(window: try options.int("window", 64), timeout: 120)
    try bench.openPosters(posterCount)
    let setupSeconds = Double(nowNanoseconds() - setupStart) / 1e9

    let outcome = try runSchedule(bench, count: count, rate: rate, warmup: warmup, duration: duration, size: size,
                                  drain: drain, spin: spin, offset: offset, cpu: &cpu)
    let sent = outcome.sent, sentInWindow = outcome.sentInWindow, lateness = outcome.lateness
    let (clientCPU, serverCPU) = cpu.reading
    // Messages of the window that never arrived count with a latency they certainly
    // exceeded (from the end of the window to now), so the percentiles stay a lower bound
    // rather than leaving them out.
    let missing = sentInWindow - Int(bench.histogram.totalCount)
    if missing > 0 {
        bench.histogram.record(nowNanoseconds() - bench.measureEnd, count: UInt64(missing))
    }

    emit("mode", "latency")
    emit("kind", bench.kind.rawValue)
    emit("clients", count)
    emit("target_rate", fixed(rate, 0))
    emit("size", size)
    emit("setup_seconds", fixed(setupSeconds, 2))
    emit("sent", sent)
    emit("delivered", bench.delivered)
    emit("lost", sent - bench.delivered)
    emit("missing_in_window", missing)
    emit("recorded", bench.histogram.totalCount)
    emit("rate", fixed(Double(bench.histogram.totalCount) / duration, 0))
    emitPercentiles(bench.histogram)
    emitPercentiles(bench.postHistogram, prefix: "post_")
    emitPercentiles(lateness, prefix: "send_late_")
    emitPercentiles(bench.fromSendHistogram, prefix: "from_send_")
    emit("post_errors", bench.postErrors)
    emit("client_cpu", fixed(clientCPU, 2))
    if let serverCPU { emit("server_cpu", fixed(serverCPU, 2)) }
    cpu.emitOthers()
    let sequences = bench.reportSequences { bench.acknowledged[$0] }
    if bench.postErrors > 0 { throw Failure("\(bench.postErrors) POSTs failed; the last answer: \(bench.lastPostError)") }
    if bench.delivered != sent {
        printError("ChannelLoad latency: \(sent - bench.delivered) of \(sent) messages had not arrived \(drain) s after the run")
    }
    if let sequences { throw Failure(sequences) }
}

// MARK: - fan-out

func fanout(_ options: Options) throws {
    let count = try options.int("subscribers", 10_000)
    let inFlight = try options.int("in-flight", 4)
    let size = try options.int("size", 32)
    let warmup = try options.double("warmup", 2)
    let duration = try options.double("duration", 10)
    let topic = options.string("topic", "bench")
    guard count >= 1, inFlight >= 1, size >= 21, size <= 16_000 else { throw Failure("bad --subscribers, --in-flight or --size") }
    let bench = try makeBench(options, ids: (0..<count).map { "s\($0)" })
    var cpu = try makeCPUMeter(options)

    let setupStart = nowNanoseconds()
    try bench.fetchTokens()
    try bench.openAll(window: try options.int("window", 64), timeout: 180)
    try bench.subscribeAll(topic: topic)
    // ChannelNode answers /subscribe before Redis has run its SADD (on the node's own Redis
    // connection); a publish through another node must not overtake it.
    if bench.kind == .node { sleepSeconds(0.5) }
    try bench.openPosters(inFlight)
    let setupSeconds = Double(nowNanoseconds() - setupStart) / 1e9

    let start = nowNanoseconds()
    bench.measureFrom = start + UInt64(warmup * 1e9)
    bench.measureEnd = bench.measureFrom + UInt64(duration * 1e9)
    bench.lastDelivery = start
    var published = 0
    var publishedInWindow = 0
    while true {
        let now = nowNanoseconds()
        cpu.observe(now: now, from: bench.measureFrom, end: bench.measureEnd)
        if now < bench.measureEnd {
            // ChannelNode's /publish is answered before Redis ran it: there, a publish is in
            // flight until all its copies have arrived.
            while let node = bench.freeNode(from: published),
                  bench.kind != .node || published - bench.delivered / count < inFlight {
                try bench.publish(topic: topic, body: messageBody(time: nowNanoseconds(), size: size), node: node)
                published += 1
                if now >= bench.measureFrom { publishedInWindow += 1 }
            }
        } else {
            if bench.delivered >= published * count && bench.postsAnswered >= published { break }
            if now > bench.measureEnd + 120_000_000_000 { break }
        }
        if now > bench.lastDelivery + 5_000_000_000 {
            throw Failure("no message arrived for 5 s (\(bench.delivered) of \(published * count) delivered)")
        }
        try bench.poll(timeoutMilliseconds: 10)
    }
    let (clientCPU, serverCPU) = cpu.reading
    let drainSeconds = Double(nowNanoseconds() - bench.measureEnd) / 1e9

    emit("mode", "fanout")
    emit("kind", bench.kind.rawValue)
    emit("subscribers", count)
    emit("in_flight", inFlight)
    emit("size", size)
    emit("setup_seconds", fixed(setupSeconds, 2))
    emit("published", published)
    emit("publish_rate", fixed(Double(publishedInWindow) / duration, 1))
    emit("publish_answer", bench.publishAnswer ?? "")
    emit("expected", published * count)
    emit("delivered", bench.delivered)
    emit("lost", published * count - bench.delivered)
    emit("delivered_in_window", bench.deliveredInWindow)
    emit("rate", fixed(Double(bench.deliveredInWindow) / duration, 0))
    emit("drain_seconds", fixed(drainSeconds, 2))
    emitPercentiles(bench.histogram, prefix: "fanout_")
    emitPercentiles(bench.postHistogram, prefix: "post_")
    emit("post_errors", bench.postErrors)
    emit("client_cpu", fixed(clientCPU, 2))
    if let serverCPU { emit("server_cpu", fixed(serverCPU, 2)) }
    cpu.emitOthers()
    let sequences = bench.reportSequences { _ in published }
    if bench.postErrors > 0 { throw Failure("\(bench.postErrors) POSTs failed; the last answer: \(bench.lastPostError)") }
    if let sequences { throw Failure(sequences) }
    if bench.kind != .node && bench.publishAnswer != String(count) { throw Failure("the server reached \(bench.publishAnswer ?? "?") subscribers, not \(count)") }
    if bench.delivered != published * count {
        throw Failure("\(published * count - bench.delivered) of \(published * count) copies never arrived")
    }
}

// MARK: - throughput

func throughput(_ options: Options) throws {
    let count = try options.int("clients", 300)
    let posterCount = try options.int("posters", 48)
    let size = try options.int("size", 32)
    let warmup = try options.double("warmup", 2)
    let duration = try options.double("duration", 10)
    let drain = try options.double("drain", 30)
    let batch = try options.int("batch", 1)
    guard count >= 1, posterCount >= 1, size >= 21, size <= 16_000, batch >= 1, batch <= count else {
        throw Failure("bad --clients, --posters, --size or --batch")
    }
    let bench = try makeBench(options, ids: (0..<count).map { "c\($0)" })
    let offset = try postOffset(options, "mixed")
    var cpu = try makeCPUMeter(options)

    let setupStart = nowNanoseconds()
    try bench.fetchTokens()
    try bench.openAll(window: try options.int("window", 64), timeout: 120)
    try bench.openPosters(posterCount)
    let setupSeconds = Double(nowNanoseconds() - setupStart) / 1e9

    let start = nowNanoseconds()
    bench.measureFrom = start + UInt64(warmup * 1e9)
    bench.measureEnd = bench.measureFrom + UInt64(duration * 1e9)
    bench.lastDelivery = start
    var sent = 0
    var sentInWindow = 0
    var answeredAtWindowStart = -1
    var answeredAtWindowEnd = -1
    while true {
        let now = nowNanoseconds()
        cpu.observe(now: now, from: bench.measureFrom, end: bench.measureEnd)
        if answeredAtWindowStart < 0 && now >= bench.measureFrom { answeredAtWindowStart = bench.postsAnswered }
        if answeredAtWindowEnd < 0 && now >= bench.measureEnd { answeredAtWindowEnd = bench.postsAnswered }
        if now < bench.measureEnd {
            // Closed loop: a POST on every free connection, in the order of the clients.
            while true {
                let node = postNode(bench, client: sent % count, round: sent / count, offset: offset)
                if bench.freePosters[node].isEmpty { break }
                if batch == 1 {
                    try bench.send(to: sent % count, body: messageBody(time: nowNanoseconds(), size: size), node: node)
                } else {
                    try bench.send(batch: (sent..<sent + batch).map { $0 % count },
                                   body: { messageBody(time: nowNanoseconds(), size: size) }, node: node)
                }
                sent += batch
                if now >= bench.measureFrom { sentInWindow += batch }
            }
        } else {
            if bench.delivered >= sent && bench.postsAnswered * batch >= sent { break }
            if now > bench.measureEnd + UInt64(drain * 1e9) { break }
        }
        if now > bench.lastDelivery + 5_000_000_000 && now > start + 5_000_000_000 {
            throw Failure("no message arrived for 5 s (\(bench.delivered) of \(sent) delivered)")
        }
        try bench.poll(timeoutMilliseconds: 10)
    }
    let (clientCPU, serverCPU) = cpu.reading
    let drainSeconds = Double(nowNanoseconds() - bench.measureEnd) / 1e9

    emit("mode", "throughput")
    emit("kind", bench.kind.rawValue)
    emit("clients", count)
    emit("servers", bench.ports.count)
    emit("posters", posterCount)
    emit("batch", batch)
    emit("size", size)
    emit("setup_seconds", fixed(setupSeconds, 2))
    emit("sent", sent)
    emit("send_rate", fixed(Double(sentInWindow) / duration, 0))
    emit("answered_rate", fixed(Double(max(0, answeredAtWindowEnd - answeredAtWindowStart) * batch) / duration, 0))
    emit("delivered", bench.delivered)
    emit("lost", sent - bench.delivered)
    emit("delivered_in_window", bench.deliveredInWindow)
    emit("rate", fixed(Double(bench.deliveredInWindow) / duration, 0))
    emit("drain_seconds", fixed(drainSeconds, 2))
    emitPercentiles(bench.histogram, prefix: "e2e_")
    emitPercentiles(bench.postHistogram, prefix: "post_")
    emit("post_errors", bench.postErrors)
    emit("client_cpu", fixed(clientCPU, 2))
    if let serverCPU { emit("server_cpu", fixed(serverCPU, 2)) }
    cpu.emitOthers()
    let sequences = bench.reportSequences { bench.acknowledged[$0] }
    if bench.postErrors > 0 { throw Failure("\(bench.postErrors) POSTs failed; the last answer: \(bench.lastPostError)") }
    if bench.delivered != sent {
        throw Failure("\(sent - bench.delivered) of \(sent) messages had not arrived \(drain) s after the run")
    }
    if let sequences { throw Failure(sequences) }
}

// MARK: - main

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    printError("usage: ChannelLoad probe|latency|fanout|throughput|hold --port P --kind courier|hummingbird|node [options] (see the comment atop main.swift)")
    exit(2)
}
do {
    let options = try Options(arguments.dropFirst(2))
    switch arguments[1] {
    case "probe": try probe(options)
    case "latency": try latency(options)
    case "fanout": try fanout(options)
    case "throughput": try throughput(options)
    case "hold": try hold(options)
    default: throw Failure("unknown mode \(arguments[1])")
    }
} catch {
    printError("ChannelLoad \(arguments[1]): \(error)")
    exit(1)
}
