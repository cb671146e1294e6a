import CourierHTTP
import FuzzSupport

/// HTTP1ConnectionStateMachine driven by any sequence of the events a connection reports, in
/// any order and with any clock readings, limits and counts (hostile ones included: counts are
/// never negative, as a byte count cannot be). Invariants: no trap; sequence numbers never
/// repeat; never two completed responses for one sequence number; nothing accepted for a
/// response after close or upgrade, and a finished connection stays finished; `canParse`
/// false while a response is in progress; a deadline set by an event is never before that
/// event's `now`; the timer never refuses a request while its response is in progress, and a
/// peer cut off for not reading leaves the connection finished.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let configuration = HTTP1ConnectionStateMachine.Configuration(
        headerTimeoutMilliseconds: input.interestingUInt64(), idleTimeoutMilliseconds: input.interestingUInt64(),
        maxPendingWriteBytes: input.interestingInt(), maxBufferedInputBytes: input.interestingInt())
    var clock = LoopClock(now: input.interestingUInt64())
    var machine = HTTP1ConnectionStateMachine(configuration: configuration, now: clock.now)
    checkDeadline(machine.deadline, setAt: clock.now)

    var issued: [Int] = []
    var completed: Set<Int> = []
    var answering: Int?
    var wasFinished = false
    // What the peer has taken in all: only grows, sometimes stuck (a peer that stopped reading).
    var taken: UInt64 = 0
    var steps = 0
    while !input.isExhausted, steps < 400 {
        steps += 1
        let before = machine.deadline
        let op = input.choice(22)
        var now: UInt64?
        switch op {
        case 0:
            now = clock.next(&input)
            machine.readBegan(now: now!)
        case 1:
            machine.parsingBegan()
        case 2:
            machine.parsingEnded()
        case 3:
            now = clock.next(&input)
            let speaksHTTP = machine.readEnded(now: now!, inputPending: input.bool())
            invariant(speaksHTTP == !machine.isUpgraded, "readEnded says \(speaksHTTP), upgraded \(machine.isUpgraded)")
        case 4:
            now = clock.next(&input)
            machine.nextRequestBegun(now: now!, inputPending: input.bool())
        case 5:
            let head = makeHead(&input)
            let framing: HTTPRequestParser.BodyFraming = switch input.choice(3) {
            case 0: .none
            case 1: .length(Int(clamping: input.interestingInt().magnitude))
            default: .chunked
            }
            let action = machine.headReceived(head, framing: framing, bodyLimit: input.interestingInt())
            if case .reject = action {
                invariant(machine.isFinished, "a refused head leaves the connection open")
            }
        case 6:
            now = clock.next(&input)
            if machine.bodyReceived(byteCount: count(&input), now: now!) != nil {
                invariant(machine.isFinished, "refused body bytes leave the connection open")
            }
        case 7:
            if let sequence = machine.requestEnded() {
                invariant(!issued.contains(sequence), "sequence number \(sequence) handed out twice")
                invariant(answering == nil, "request \(sequence) handed out while \(answering!) is being answered")
                issued.append(sequence)
                answering = sequence
                invariant(machine.isCurrent(sequence) && machine.canStartResponse(sequence), "the new request is not current")
            }
        case 8:
            _ = machine.parseFailed(HTTPStatus(code: 400 + input.choice(32)), reason: "fuzz")
            answering = nil
            invariant(machine.isFinished, "a parse failure leaves the connection open")
        case 9:
            let read = machine.shouldRead(pendingWriteBytes: count(&input), bufferedInputBytes: count(&input))
            if machine.isFinished { invariant(read == nil, "reading matters on a finished connection") }
        case 10:
            let sequence = pick(&input, issued)
            if machine.canStartResponse(sequence) { invariant(machine.isCurrent(sequence), "startable but not current") }
            if machine.isCurrent(sequence) { invariant(sequence == answering, "request \(sequence) is current, \(String(describing: answering)) is answered") }
        case 11:
            // `responseHead` takes no sequence number: the server asks `canStartResponse` for
            // its request first. So the rule is about the machine, not the picked request: with
            // no request of the connection's answerable (the last handed out is the only one
            // that can be), any plan closes and sends nothing.
            let startable = machine.canStartResponse(issued.last ?? -1)
            let codes = [100, 101, 200, 204, 304, 404, 500]
            let plan = machine.responseHead(status: HTTPStatus(code: codes[input.choice(codes.count)]),
                                            appSetContentLength: input.bool(), asksToClose: input.bool(),
                                            responseIsHTTP10: input.bool(), streamed: input.bool())
            if !startable || wasFinished { invariant(plan.connection == .close && !plan.sendsBody, "a plan for a response out of turn") }
        case 12:
            let sequence = pick(&input, issued)
            if machine.streamMode(sequence) != nil {
                invariant(!wasFinished && sequence == answering, "a stream mode for request \(sequence) out of turn")
            }
        case 13, 14:
            now = clock.next(&input)
            let sequence = pick(&input, issued)
            let action = op == 13 ? machine.responseFinished(sequence, now: now!) : machine.streamFinished(sequence, now: now!).then
            if action != .ignore {
                invariant(!wasFinished, "response \(sequence) completed after close or upgrade")
                invariant(completed.insert(sequence).inserted, "two completed responses for request \(sequence)")
                invariant(sequence == answering, "request \(sequence) completed, \(String(describing: answering)) was being answered")
                answering = nil
                if action == .closeAfterFlush { invariant(machine.isFinished, "closing, yet not finished") }
                else { invariant(machine.canParse, "a kept connection that cannot parse") }
            }
        case 15:
            let sequence = pick(&input, issued)
            if machine.streamAborted(sequence) {
                invariant(!wasFinished && sequence == answering, "stream \(sequence) aborted out of turn")
                answering = nil
                invariant(machine.isFinished, "an aborted stream leaves the connection open")
            }
        case 16:
            let sequence = pick(&input, issued)
            if machine.upgraded(sequence) {
                invariant(!wasFinished && sequence == answering, "request \(sequence) upgraded out of turn")
                answering = nil
                invariant(machine.isUpgraded, "upgraded, yet not upgraded")
            }
        case 17:
            let action = machine.pump(inputBuffered: input.bool(), pendingWriteBytes: count(&input), parsed: input.bool())
            if wasFinished { invariant(action == .nothing, "a pump on a finished connection: \(action)") }
        case 18:
            _ = machine.peerEnded(failed: input.bool(), inputBuffered: input.bool())
        case 19:
            machine.closed()
        case 20:
            now = clock.next(&input)
            let responding = answering != nil && machine.isCurrent(answering!)
            if input.bool() { taken &+= UInt64(input.byte()) }
            let action = machine.tick(now: now!, unsentBytes: count(&input), takenBytes: taken)
            if responding, case .reject = action { invariant(false, "408 while request \(answering!) is being answered") }
            if action == .abort { invariant(machine.isFinished, "a peer cut off for not reading leaves the connection open") }
            if wasFinished { invariant(action == .nothing, "a tick on a finished connection: \(action)") }
        default:
            _ = machine.shutdownBegan(inputIdle: input.bool(), pendingWriteBytes: count(&input))
        }

        // Whatever happened: the rules that hold after every event.
        if let current = answering, !machine.isCurrent(current) { answering = nil }
        if let answering, machine.isCurrent(answering) { invariant(!machine.canParse, "canParse while request \(answering) is answered") }
        if wasFinished { invariant(machine.isFinished, "a finished connection came back") }
        if machine.isFinished {
            invariant(!machine.canParse, "canParse on a finished connection")
            for sequence in issued.suffix(3) {
                invariant(!machine.isCurrent(sequence) && !machine.canStartResponse(sequence) && machine.streamMode(sequence) == nil,
                          "request \(sequence) still answerable after close or upgrade")
            }
        }
        wasFinished = machine.isFinished
        if let now, machine.deadline != before { checkDeadline(machine.deadline, setAt: now) }
    }
    return 0
}

/// The loop clock: mostly moving forward a little, sometimes jumping anywhere.
struct LoopClock {
    var now: UInt64
    mutating func next(_ input: inout FuzzInput) -> UInt64 {
        if input.choice(8) == 0 { now = input.interestingUInt64() } else { now &+= UInt64(input.byte()) * 100 }
        return now
    }
}

private func checkDeadline(_ deadline: HTTP1ConnectionStateMachine.Deadline, setAt now: UInt64) {
    switch deadline {
    case .none: break
    case .header(let at), .idle(let at): invariant(at >= now, "deadline \(at) set before now \(now)")
    }
}

/// A byte count: never negative, sometimes huge.
private func count(_ input: inout FuzzInput) -> Int { Int(clamping: input.interestingInt().magnitude) }

/// A sequence number: the last handed out, an earlier one, or anything.
private func pick(_ input: inout FuzzInput, _ issued: [Int]) -> Int {
    switch input.choice(4) {
    case 0, 1: issued.last ?? 1
    case 2: issued.isEmpty ? 0 : issued[input.choice(256) % issued.count]
    default: input.interestingInt()
    }
}

private func makeHead(_ input: inout FuzzInput) -> HTTPRequestHead {
    let methods: [HTTPMethod] = [.get, .head, .post, .put, .options]
    let method = methods[input.choice(methods.count)]
    let version: HTTPVersion = input.bool() ? .http1_1 : .http1_0
    var headers = HTTPHeaders()
    let flags = input.byte()
    if flags & 1 != 0 { headers.add("Connection", "close") }
    if flags & 2 != 0 { headers.add("Connection", "keep-alive") }
    if flags & 4 != 0 { headers.add("Expect", "100-continue") }
    if flags & 8 != 0 { headers.add("Connection", "Upgrade") }
    return HTTPRequestHead(method: method, target: "/", version: version, headers: headers)
}
