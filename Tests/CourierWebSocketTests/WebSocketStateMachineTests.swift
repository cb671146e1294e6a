import CourierHTTP
import Testing

/// The WebSocket protocol without a socket or a real clock: each row feeds events to a state
/// machine and asserts the exact action each one answers with.
@Suite struct WebSocketStateMachineTests {
    typealias Machine = WebSocketStateMachine
    typealias Action = WebSocketStateMachine.Action
    typealias Frame = WebSocketStateMachine.CloseFrame
    typealias Report = WebSocketStateMachine.CloseReport

    static let interval: UInt64 = 1_000
    static let pongTimeout: UInt64 = 400
    static let closeTimeout: UInt64 = 5_000
    static let maxBackpressure = 1_000
    static let start: UInt64 = 10_000
    /// Past the longest ping delay (the interval and half again), so a tick here always pings.
    static let pingDue = start + interval * 3 / 2

    static func machine(seed: UInt64 = 1) -> Machine {
        Machine(pingIntervalMilliseconds: interval, pongTimeoutMilliseconds: pongTimeout,
                closeTimeoutMilliseconds: closeTimeout, maxBackpressureBytes: maxBackpressure, now: start, seed: seed)
    }

    enum Phase: Sendable {
        case open, closeSent, closed
    }

    /// A machine brought to `phase` the way a connection gets there: closing by the app's
    /// close, closed by the client's close (so its close is reported already).
    static func machine(in phase: Phase) -> Machine {
        var machine = machine()
        switch phase {
        case .open: break
        case .closeSent: _ = machine.closeRequested(code: 1000, reason: "bye", now: start)
        case .closed: _ = machine.received(.close(code: 1000, reason: ""))
        }
        return machine
    }

    static func phase(of machine: Machine) -> Phase {
        machine.isOpen ? .open : machine.isClosed ? .closed : .closeSent
    }

    /// Events as values, so a whole exchange is one row.
    enum Event: Sendable {
        case text, binary, ping, pong
        case close(UInt16?, String)
        case protocolError(UInt16, String)
        case data(at: UInt64)
        case send(unsentBytes: Int, at: UInt64)
        case closeRequested(UInt16, String, at: UInt64)
        case shutdown(at: UInt64)
        case connectionLost, streamClosed
        case tick(at: UInt64)
    }

    /// What an event answered: an action, a send decision, or nothing (`receivedData`).
    enum Outcome: Equatable, Sendable {
        case action(Action)
        case decision(Machine.SendDecision)
        case nothing
    }

    static func apply(_ event: Event, to machine: inout Machine) -> Outcome {
        switch event {
        case .text: return .action(machine.received(.text("hi")))
        case .binary: return .action(machine.received(.binary([1, 2])))
        case .ping: return .action(machine.received(.ping([7])))
        case .pong: return .action(machine.received(.pong([8])))
        case .close(let code, let reason): return .action(machine.received(.close(code: code, reason: reason)))
        case .protocolError(let code, let reason): return .action(machine.protocolError(WebSocketProtocolError(code, reason)))
        case .data(let now):
            machine.receivedData(now: now)
            return .nothing
        case .send(let unsent, let now): return .decision(machine.sendRequested(unsentBytes: unsent, now: now))
        case .closeRequested(let code, let reason, let now): return .action(machine.closeRequested(code: code, reason: reason, now: now))
        case .shutdown(let now): return .action(machine.shutdownBegan(now: now))
        case .connectionLost: return .action(machine.connectionLost())
        case .streamClosed: return .action(machine.streamClosed())
        case .tick(let now): return .action(machine.tick(now: now))
        }
    }

    // MARK: One event in each state

    struct Row: Sendable, CustomTestStringConvertible {
        let phase: Phase
        let event: Event
        let outcome: Outcome
        let after: Phase
        init(_ phase: Phase, _ event: Event, _ outcome: Outcome, _ after: Phase) {
            self.phase = phase
            self.event = event
            self.outcome = outcome
            self.after = after
        }
        var testDescription: String { "\(event) when \(phase)" }
    }

    static let closed1000 = Report(code: 1000, reason: "done")
    static let goingAway = Frame(code: 1001, reason: "server shutting down")
    static let tooSlow = Frame(code: 1008, reason: "client too slow")

    static let messageRows: [Row] = [
        Row(.open, .text, .action(.deliverText("hi")), .open),
        Row(.open, .binary, .action(.deliverBinary([1, 2])), .open),
        Row(.open, .ping, .action(.sendPong([7])), .open),
        Row(.open, .pong, .action(.deliverPong([8])), .open),
        Row(.open, .close(1000, "done"), .action(.finish(sending: Frame(code: 1000, reason: ""), report: closed1000)), .closed),
        Row(.open, .close(4000, "app"),
            .action(.finish(sending: Frame(code: 4000, reason: ""), report: Report(code: 4000, reason: "app"))), .closed),
        Row(.open, .close(nil, ""), .action(.finish(sending: Frame(code: nil, reason: ""), report: Report(code: 1005, reason: ""))), .closed),
        Row(.closeSent, .text, .action(.none), .closeSent),
        Row(.closeSent, .binary, .action(.none), .closeSent),
        Row(.closeSent, .ping, .action(.none), .closeSent),
        Row(.closeSent, .pong, .action(.deliverPong([8])), .closeSent),
        Row(.closeSent, .close(1000, "done"), .action(.finish(sending: nil, report: closed1000)), .closed),
        Row(.closeSent, .close(nil, ""), .action(.finish(sending: nil, report: Report(code: 1005, reason: ""))), .closed),
        Row(.closed, .text, .action(.none), .closed),
        Row(.closed, .binary, .action(.none), .closed),
        Row(.closed, .ping, .action(.none), .closed),
        Row(.closed, .pong, .action(.none), .closed),
        Row(.closed, .close(1000, "done"), .action(.none), .closed),
    ]

    static let otherRows: [Row] = [
        // A protocol error: the close frame only if ours is not out yet; the reason only in the report.
        Row(.open, .protocolError(1002, "bad opcode"),
            .action(.finish(sending: Frame(code: 1002, reason: ""), report: Report(code: 1002, reason: "bad opcode"))), .closed),
        Row(.open, .protocolError(1009, "too big"),
            .action(.finish(sending: Frame(code: 1009, reason: ""), report: Report(code: 1009, reason: "too big"))), .closed),
        Row(.closeSent, .protocolError(1007, "bad UTF-8"),
            .action(.finish(sending: nil, report: Report(code: 1007, reason: "bad UTF-8"))), .closed),
        Row(.closed, .protocolError(1002, "bad opcode"), .action(.none), .closed),
        // The app's close and the server's shutdown: a frame only from an open connection.
        Row(.open, .closeRequested(1000, "bye", at: start), .action(.sendClose(Frame(code: 1000, reason: "bye"))), .closeSent),
        Row(.closeSent, .closeRequested(1000, "bye", at: start), .action(.none), .closeSent),
        Row(.closed, .closeRequested(1000, "bye", at: start), .action(.none), .closed),
        Row(.open, .shutdown(at: start), .action(.sendClose(goingAway)), .closeSent),
        Row(.closeSent, .shutdown(at: start), .action(.none), .closeSent),
        Row(.closed, .shutdown(at: start), .action(.none), .closed),
        // Sending: only while open, and only up to the backpressure bound (inclusive).
        Row(.open, .send(unsentBytes: 0, at: start), .decision(.send), .open),
        Row(.open, .send(unsentBytes: maxBackpressure, at: start), .decision(.send), .open),
        Row(.open, .send(unsentBytes: maxBackpressure + 1, at: start), .decision(.dropAndClose(tooSlow)), .closeSent),
        Row(.closeSent, .send(unsentBytes: 0, at: start), .decision(.drop), .closeSent),
        Row(.closed, .send(unsentBytes: 0, at: start), .decision(.drop), .closed),
        // The connection dying: 1006 unless the close was reported already (as it is in `.closed` here).
        Row(.open, .connectionLost, .action(.closeStream(report: Report(code: 1006, reason: ""))), .closed),
        Row(.closeSent, .connectionLost, .action(.closeStream(report: Report(code: 1006, reason: ""))), .closed),
        Row(.closed, .connectionLost, .action(.closeStream(report: nil)), .closed),
        Row(.open, .streamClosed, .action(.report(Report(code: 1006, reason: ""))), .closed),
        Row(.closeSent, .streamClosed, .action(.report(Report(code: 1006, reason: ""))), .closed),
        Row(.closed, .streamClosed, .action(.none), .closed),
        // Data keeps any state as it is.
        Row(.open, .data(at: start + 1), .nothing, .open),
        Row(.closeSent, .data(at: start + 1), .nothing, .closeSent),
        Row(.closed, .data(at: start + 1), .nothing, .closed),
        // The sweep: a ping when due, the close timeout once our close is out, nothing when closed.
        Row(.open, .tick(at: start + interval - 1), .action(.none), .open),
        Row(.open, .tick(at: pingDue), .action(.sendPing), .open),
        Row(.closeSent, .tick(at: pingDue), .action(.none), .closeSent),
        Row(.closeSent, .tick(at: start + closeTimeout - 1), .action(.none), .closeSent),
        Row(.closeSent, .tick(at: start + closeTimeout), .action(.closeStream(report: nil)), .closed),
        Row(.closed, .tick(at: start + closeTimeout * 10), .action(.none), .closed),
    ]

    @Test(arguments: messageRows + otherRows)
    func oneEvent(row: Row) {
        var machine = Self.machine(in: row.phase)
        #expect(Self.apply(row.event, to: &machine) == row.outcome)
        #expect(Self.phase(of: machine) == row.after)
    }

    // MARK: Exchanges

    struct Exchange: Sendable, CustomTestStringConvertible {
        let name: String
        let steps: [(Event, Outcome)]
        var testDescription: String { name }
    }

    static let lost = Report(code: 1006, reason: "")

    /// Every path to the end reports the close exactly once, and later events change nothing.
    static let exchanges: [Exchange] = [
        Exchange(name: "client close, then the stream closes", steps: [
            (.close(1000, "done"), .action(.finish(sending: Frame(code: 1000, reason: ""), report: closed1000))),
            (.connectionLost, .action(.closeStream(report: nil))),
            (.streamClosed, .action(.none)),
        ]),
        Exchange(name: "connection lost, then the stream closes", steps: [
            (.connectionLost, .action(.closeStream(report: lost))),
            (.streamClosed, .action(.none)),
            (.close(1000, "late"), .action(.none)),
            (.tick(at: pingDue), .action(.none)),
        ]),
        Exchange(name: "the stream closed under an open socket (forced close)", steps: [
            (.streamClosed, .action(.report(lost))),
            (.connectionLost, .action(.closeStream(report: nil))),
            (.send(unsentBytes: 0, at: start), .decision(.drop)),
        ]),
        Exchange(name: "pong timeout", steps: [
            (.tick(at: pingDue), .action(.sendPing)),
            // A ping is pending: no second one, however long the silence.
            (.tick(at: pingDue + pongTimeout - 1), .action(.none)),
            (.tick(at: pingDue + pongTimeout), .action(.closeStream(report: Report(code: 1006, reason: "no answer to ping")))),
            (.streamClosed, .action(.none)),
            (.tick(at: pingDue + pongTimeout * 2), .action(.none)),
            (.send(unsentBytes: 0, at: pingDue), .decision(.drop)),
        ]),
        Exchange(name: "data received cancels the pending pong timeout", steps: [
            (.tick(at: pingDue), .action(.sendPing)),
            (.data(at: pingDue + 100), .nothing),
            (.tick(at: pingDue + pongTimeout), .action(.none)),
            (.tick(at: pingDue + 100 + interval - 1), .action(.none)),
            (.tick(at: pingDue + 100 + interval * 3 / 2), .action(.sendPing)),
        ]),
        Exchange(name: "our close answered by the client", steps: [
            (.closeRequested(1000, "bye", at: start), .action(.sendClose(Frame(code: 1000, reason: "bye")))),
            (.closeRequested(1001, "again", at: start), .action(.none)),
            (.send(unsentBytes: 0, at: start), .decision(.drop)),
            (.text, .action(.none)),
            (.close(1000, ""), .action(.finish(sending: nil, report: Report(code: 1000, reason: "")))),
            (.streamClosed, .action(.none)),
        ]),
        Exchange(name: "our close never answered", steps: [
            (.closeRequested(1000, "bye", at: start), .action(.sendClose(Frame(code: 1000, reason: "bye")))),
            (.tick(at: start + closeTimeout - 1), .action(.none)),
            (.tick(at: start + closeTimeout), .action(.closeStream(report: nil))),
            (.tick(at: start + closeTimeout + 1), .action(.none)),
            (.streamClosed, .action(.report(lost))),
        ]),
        Exchange(name: "protocol error, then the connection goes", steps: [
            (.protocolError(1002, "bad"), .action(.finish(sending: Frame(code: 1002, reason: ""), report: Report(code: 1002, reason: "bad")))),
            (.protocolError(1002, "bad"), .action(.none)),
            (.connectionLost, .action(.closeStream(report: nil))),
            (.streamClosed, .action(.none)),
        ]),
        Exchange(name: "backpressure closes with 1008 and starts the close clock", steps: [
            (.send(unsentBytes: maxBackpressure + 1, at: start + 10), .decision(.dropAndClose(tooSlow))),
            (.send(unsentBytes: 0, at: start + 10), .decision(.drop)),
            (.closeRequested(1000, "", at: start + 10), .action(.none)),
            (.tick(at: start + 10 + closeTimeout - 1), .action(.none)),
            (.tick(at: start + 10 + closeTimeout), .action(.closeStream(report: nil))),
            (.streamClosed, .action(.report(lost))),
        ]),
        Exchange(name: "shutdown closes with 1001 once", steps: [
            (.shutdown(at: start), .action(.sendClose(goingAway))),
            (.shutdown(at: start), .action(.none)),
            (.tick(at: pingDue), .action(.none)),
            (.pong, .action(.deliverPong([8]))),
            (.close(1001, ""), .action(.finish(sending: nil, report: Report(code: 1001, reason: "")))),
        ]),
    ]

    @Test(arguments: exchanges)
    func exchange(_ exchange: Exchange) {
        var machine = Self.machine()
        for (index, (event, outcome)) in exchange.steps.enumerated() {
            #expect(Self.apply(event, to: &machine) == outcome, "step \(index): \(event)")
        }
    }

    // MARK: Ping schedule

    /// The first tick that pings, for a machine last heard from at `from`, scanning a millisecond
    /// at a time; every earlier tick must answer `.none`.
    static func firstPing(_ machine: inout Machine, from: UInt64) -> UInt64? {
        for now in from...(from + interval * 2) {
            switch machine.tick(now: now) {
            case .none: continue
            case .sendPing: return now
            default: return nil
            }
        }
        return nil
    }

    /// Never before the interval, never past half as long again, whatever the draw.
    @Test(arguments: 0..<40)
    func pingComesBetweenIntervalAndOneAndAHalfIntervals(seed: UInt64) throws {
        var machine = Self.machine(seed: seed)
        let ping = try #require(Self.firstPing(&machine, from: Self.start))
        #expect(ping >= Self.start + Self.interval)
        #expect(ping <= Self.start + Self.interval * 3 / 2)
    }

    /// The delay is drawn anew after each ping, and the same seed draws the same schedule.
    @Test func jitterIsRedrawnAfterEachPingAndReproducible() throws {
        func delays(seed: UInt64) throws -> [UInt64] {
            var machine = Self.machine(seed: seed)
            var heard = Self.start
            var delays: [UInt64] = []
            for _ in 0..<20 {
                let ping = try #require(Self.firstPing(&machine, from: heard))
                delays.append(ping - heard)
                heard = ping + 1
                machine.receivedData(now: heard)
            }
            return delays
        }
        let first = try delays(seed: 42)
        #expect(first.allSatisfy { (Self.interval...Self.interval * 3 / 2).contains($0) })
        #expect(Set(first).count > 1, "the jitter changes from one ping to the next: \(first)")
        #expect(try delays(seed: 42) == first)
        #expect(try delays(seed: 43) != first)
    }

    // Found by FuzzWebSocketStateMachine: a ping interval or timeout near UInt64.max (an app
    // turning pings off) overflowed when the ping delay was drawn, so every upgrade trapped;
    // a clock or timeout near the top overflowed in the sweep. Deadlines saturate instead.
    @Test func settingsAndClocksNearTheTopDoNotTrap() {
        var machine = Machine(pingIntervalMilliseconds: .max, pongTimeoutMilliseconds: .max, closeTimeoutMilliseconds: .max,
                              maxBackpressureBytes: .max, now: .max - 1, seed: 7)
        #expect(machine.tick(now: .max - 1) == .none)
        #expect(machine.tick(now: .max) == .sendPing)
        #expect(machine.tick(now: .max) == .closeStream(report: Report(code: 1006, reason: "no answer to ping")))
        var closing = Machine(pingIntervalMilliseconds: 1_000, pongTimeoutMilliseconds: 400, closeTimeoutMilliseconds: .max,
                              maxBackpressureBytes: 10, now: 5, seed: 7)
        #expect(closing.closeRequested(code: 1000, reason: "", now: 6) == .sendClose(Frame(code: 1000, reason: "")))
        #expect(closing.tick(now: .max - 1) == .none)
        #expect(closing.tick(now: .max) == .closeStream(report: nil))
    }
}
