import CourierHTTP
import FuzzSupport

/// WebSocketStateMachine driven by any sequence of events (messages, protocol errors, sends,
/// closes, shutdown, the sweep) with any settings and clock readings, hostile ones included.
/// Invariants: no trap; the close is reported at most once; at most one close frame is sent;
/// nothing is delivered or answered once our close is out or the connection is closed, and a
/// closed connection stays closed; at most one ping is waiting for an answer; sends are
/// dropped once the connection is not open.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    var now = input.interestingUInt64()
    var machine = WebSocketStateMachine(pingIntervalMilliseconds: input.interestingUInt64(),
                                        pongTimeoutMilliseconds: input.interestingUInt64(),
                                        closeTimeoutMilliseconds: input.interestingUInt64(),
                                        maxBackpressureBytes: input.interestingInt(), now: now, seed: input.uint64())
    var reports = 0
    var closeFrames = 0
    var pingOutstanding = false
    var steps = 0
    while !input.isExhausted, steps < 400 {
        steps += 1
        if input.choice(8) == 0 { now = input.interestingUInt64() } else { now &+= UInt64(input.byte()) * 250 }
        let wasOpen = machine.isOpen
        let wasClosed = machine.isClosed
        let action: WebSocketStateMachine.Action
        switch input.choice(10) {
        case 0:
            machine.receivedData(now: now)
            if wasOpen { pingOutstanding = false }
            action = .none
        case 1:
            action = machine.received(message(&input))
        case 2:
            let code = [WebSocketCloseCode.protocolError, WebSocketCloseCode.invalidPayload, WebSocketCloseCode.messageTooBig][input.choice(3)]
            action = machine.protocolError(WebSocketProtocolError(code, "fuzz"))
        case 3:
            action = machine.connectionLost()
        case 4:
            action = machine.streamClosed()
        case 5:
            let decision = machine.sendRequested(unsentBytes: Int(clamping: input.interestingInt().magnitude), now: now)
            if !wasOpen { invariant(decision == .drop, "a send on a connection that is not open: \(decision)") }
            if case .dropAndClose = decision { closeFrames += 1 }
            action = .none
        case 6:
            action = machine.closeRequested(code: WebSocketCloseCode.normal, reason: "fuzz", now: now)
        case 7:
            action = machine.shutdownBegan(now: now)
        default:
            action = machine.tick(now: now)
        }

        switch action {
        case .none:
            break
        case .deliverText, .deliverBinary, .sendPong:
            invariant(wasOpen, "\(action) when the connection was not open")
        case .deliverPong:
            invariant(!wasClosed, "a pong delivered after the close")
        case .sendPing:
            invariant(wasOpen, "a ping on a connection that is not open")
            invariant(!pingOutstanding, "a second ping before the first was answered")
            pingOutstanding = true
        case .sendClose:
            invariant(wasOpen, "a close frame on a connection that is not open")
            closeFrames += 1
        case .finish(let sending, let report):
            invariant(!wasClosed, "a close handshake finished twice")
            if sending != nil { closeFrames += 1 }
            if report != nil { reports += 1 }
        case .closeStream(let report):
            if report != nil { reports += 1 }
        case .report:
            reports += 1
        }
        invariant(reports <= 1, "the close reported \(reports) times")
        invariant(closeFrames <= 1, "\(closeFrames) close frames sent")
        invariant(!(machine.isOpen && machine.isClosed), "open and closed at once")
        if wasClosed { invariant(machine.isClosed, "a closed connection came back") }
        if !wasOpen { invariant(!machine.isOpen, "a closing connection opened again") }
    }
    return 0
}

private func message(_ input: inout FuzzInput) -> WebSocketParser.Message {
    switch input.choice(5) {
    case 0: return .text("t")
    case 1: return .binary([1])
    case 2: return .ping([2])
    case 3: return .pong([3])
    default:
        let codes: [UInt16] = [1000, 1001, 3000, 4999]
        return .close(code: input.bool() ? nil : codes[input.choice(codes.count)], reason: "")
    }
}
