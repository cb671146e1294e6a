import CourierHTTP
import Testing

/// The connection's rules driven event by event, with no sockets and no clock but the numbers
/// passed in. Each table row is one transition and the action it must return.
typealias Machine = HTTP1ConnectionStateMachine

private let configuration = Machine.Configuration(headerTimeoutMilliseconds: 1_000, idleTimeoutMilliseconds: 5_000,
                                                  maxPendingWriteBytes: 100, maxBufferedInputBytes: 200)

private func head(_ method: HTTPMethod = .get, _ version: HTTPVersion = .http1_1, _ fields: [(String, String)] = []) -> HTTPRequestHead {
    var headers = HTTPHeaders()
    for (name, value) in fields { headers.add(name, value) }
    return HTTPRequestHead(method: method, target: "/", version: version, headers: headers)
}

/// A machine with one request read and dispatched; returns its sequence number.
private func dispatched(_ machine: inout Machine, _ request: HTTPRequestHead = head(), framing: HTTPRequestParser.BodyFraming = .none) -> Int {
    #expect(machine.headReceived(request, framing: framing, bodyLimit: 1_000) == .readBody)
    return machine.requestEnded()!
}

@Suite struct HTTP1ConnectionStateMachineTests {
    // MARK: Heads and bodies

    struct HeadCase: Sendable, CustomTestStringConvertible {
        let name: String
        let head: HTTPRequestHead
        let framing: HTTPRequestParser.BodyFraming
        let limit: Int
        let action: Machine.HeadAction
        var testDescription: String { name }
    }

    static let headCases: [HeadCase] = [
        HeadCase(name: "no body", head: head(), framing: .none, limit: 10, action: .readBody),
        HeadCase(name: "length at the limit", head: head(.post), framing: .length(10), limit: 10, action: .readBody),
        HeadCase(name: "length over the limit", head: head(.post), framing: .length(11), limit: 10,
                 action: .reject(.payloadTooLarge, reason: "Content-Length 11 over 10")),
        HeadCase(name: "chunked under any limit", head: head(.post), framing: .chunked, limit: 0, action: .readBody),
        HeadCase(name: "100-continue with a body", head: head(.post, .http1_1, [("Expect", "100-continue")]), framing: .length(5),
                 limit: 10, action: .sendContinueAndReadBody),
        HeadCase(name: "100-continue with a chunked body", head: head(.post, .http1_1, [("Expect", "100-continue")]),
                 framing: .chunked, limit: 10, action: .sendContinueAndReadBody),
        HeadCase(name: "100-continue without a body", head: head(.post, .http1_1, [("Expect", "100-continue")]),
                 framing: .length(0), limit: 10, action: .readBody),
        HeadCase(name: "100-continue over the limit is refused, not continued",
                 head: head(.post, .http1_1, [("Expect", "100-continue")]), framing: .length(50), limit: 10,
                 action: .reject(.payloadTooLarge, reason: "Content-Length 50 over 10")),
        HeadCase(name: "HTTP/1.0 ignores Expect", head: head(.post, .http1_0, [("Expect", "100-continue")]), framing: .length(5),
                 limit: 10, action: .readBody),
    ]

    @Test(arguments: headCases)
    func headsAreReadOrRefused(_ row: HeadCase) {
        var machine = Machine(configuration: configuration, now: 0)
        #expect(machine.headReceived(row.head, framing: row.framing, bodyLimit: row.limit) == row.action)
        if case .reject = row.action {
            #expect(!machine.canParse, "a refused request ends the connection")
            #expect(machine.requestEnded() == nil)
        } else {
            #expect(machine.canParse)
        }
    }

    @Test func bodyBytesCountAgainstTheLimitAcrossReadsAndRestartTheHeaderDeadline() {
        var machine = Machine(configuration: configuration, now: 0)
        #expect(machine.headReceived(head(.post), framing: .chunked, bodyLimit: 10) == .readBody)
        #expect(machine.bodyReceived(byteCount: 6, now: 500) == nil)
        #expect(machine.deadline == .header(at: 1_500))
        #expect(machine.bodyReceived(byteCount: 4, now: 600) == nil)
        #expect(machine.bodyReceived(byteCount: 1, now: 700) == .reject(.payloadTooLarge, reason: "body over 10 bytes"))
        #expect(!machine.canParse)
    }

    @Test func hostileBodyCountsDoNotOverflow() {
        var machine = Machine(configuration: configuration, now: 0)
        _ = machine.headReceived(head(.post), framing: .chunked, bodyLimit: .max)
        #expect(machine.bodyReceived(byteCount: .max - 1, now: 1) == nil)
        #expect(machine.bodyReceived(byteCount: 1, now: 2) == nil)
        #expect(machine.bodyReceived(byteCount: .max, now: 3) == .reject(.payloadTooLarge, reason: "body over \(Int.max) bytes"))
    }

    @Test func anEndWithoutAHeadDispatchesNothing() {
        var machine = Machine(configuration: configuration, now: 0)
        #expect(machine.requestEnded() == nil)
        #expect(machine.canParse)
    }

    @Test func aParseErrorRejectsAndCloses() {
        var machine = Machine(configuration: configuration, now: 0)
        #expect(machine.parseFailed(.badRequest, reason: "bad") == .reject(.badRequest, reason: "bad"))
        #expect(machine.isFinished)
        #expect(machine.deadline == .none)
        #expect(machine.tick(now: 99_999, unsentBytes: 0, takenBytes: 0) == .nothing)
    }

    // MARK: Keep-alive and framing

    struct ResponseCase: Sendable, CustomTestStringConvertible {
        let name: String
        var request: HTTPRequestHead = head()
        var status: HTTPStatus = .ok
        var appSetContentLength = false
        var asksToClose = false
        var responseIsHTTP10 = false
        var shuttingDown = false
        let plan: Machine.ResponsePlan
        let finish: Machine.FinishAction
        var testDescription: String { name }
    }

    private static func plan(length: Bool = true, sends: Bool = true, _ connection: Machine.ConnectionField = .none) -> Machine.ResponsePlan {
        Machine.ResponsePlan(addsContentLength: length, addsChunkedEncoding: false, sendsBody: sends, connection: connection)
    }

    static let responseCases: [ResponseCase] = [
        ResponseCase(name: "HTTP/1.1 keeps the connection", plan: plan(), finish: .continueWithInput),
        ResponseCase(name: "Connection: close from the client", request: head(.get, .http1_1, [("Connection", "close")]),
                     plan: plan(.close), finish: .closeAfterFlush),
        ResponseCase(name: "HTTP/1.0 closes by default", request: head(.get, .http1_0), plan: plan(.close), finish: .closeAfterFlush),
        ResponseCase(name: "HTTP/1.0 keep-alive is answered in kind",
                     request: head(.get, .http1_0, [("Connection", "keep-alive")]), plan: plan(.keepAlive), finish: .continueWithInput),
        ResponseCase(name: "the app asks to close", asksToClose: true, plan: plan(.close), finish: .closeAfterFlush),
        ResponseCase(name: "the app's Content-Length is kept", appSetContentLength: true, plan: plan(length: false),
                     finish: .continueWithInput),
        ResponseCase(name: "HEAD gets the length but no body", request: head(.head), plan: plan(sends: false), finish: .continueWithInput),
        ResponseCase(name: "204 has neither", status: .noContent, plan: plan(length: false, sends: false), finish: .continueWithInput),
        ResponseCase(name: "304 has neither", status: .notModified, plan: plan(length: false, sends: false), finish: .continueWithInput),
        ResponseCase(name: "shutting down closes after the answer", shuttingDown: true, plan: plan(.close), finish: .closeAfterFlush),
    ]

    @Test(arguments: responseCases)
    func completeResponsesAreFramedAndKeepOrCloseTheConnection(_ row: ResponseCase) {
        var machine = Machine(configuration: configuration, now: 0)
        if row.shuttingDown {
            // Shutdown arrives while the head is being read: the request is still answered.
            _ = machine.headReceived(row.request, framing: .none, bodyLimit: 10)
            #expect(machine.shutdownBegan(inputIdle: false, pendingWriteBytes: 0) == .finishCurrentRequest)
        } else {
            _ = machine.headReceived(row.request, framing: .none, bodyLimit: 10)
        }
        let sequence = machine.requestEnded()!
        #expect(machine.canStartResponse(sequence))
        let plan = machine.responseHead(status: row.status, appSetContentLength: row.appSetContentLength, asksToClose: row.asksToClose,
                                        responseIsHTTP10: row.responseIsHTTP10, streamed: false)
        #expect(plan == row.plan)
        #expect(machine.responseFinished(sequence, now: 10) == row.finish)
        if row.finish == .continueWithInput {
            #expect(machine.deadline == .idle(at: 5_010))
            #expect(machine.canParse)
        } else {
            #expect(machine.isFinished)
        }
    }

    struct StreamCase: Sendable, CustomTestStringConvertible {
        let name: String
        var request: HTTPRequestHead = head()
        var status: HTTPStatus = .ok
        var appSetContentLength = false
        var responseIsHTTP10 = false
        let mode: Machine.StreamMode
        let connection: Machine.ConnectionField
        var testDescription: String { name }
    }

    static let streamCases: [StreamCase] = [
        StreamCase(name: "HTTP/1.1 is chunked", mode: .chunked, connection: .none),
        StreamCase(name: "with the app's Content-Length, raw", appSetContentLength: true, mode: .raw, connection: .none),
        StreamCase(name: "HTTP/1.0 client: never chunked, ends with the connection",
                   request: head(.get, .http1_0, [("Connection", "keep-alive")]), mode: .raw, connection: .close),
        StreamCase(name: "HTTP/1.0 response: never chunked", responseIsHTTP10: true, mode: .raw, connection: .close),
        StreamCase(name: "HEAD is bodyless", request: head(.head), mode: .bodyless, connection: .none),
        StreamCase(name: "204 is bodyless", status: .noContent, mode: .bodyless, connection: .none),
    ]

    @Test(arguments: streamCases)
    func streamedResponsesAreFramedByVersionAndLength(_ row: StreamCase) {
        var machine = Machine(configuration: configuration, now: 0)
        let sequence = dispatched(&machine, row.request)
        let plan = machine.responseHead(status: row.status, appSetContentLength: row.appSetContentLength, asksToClose: false,
                                        responseIsHTTP10: row.responseIsHTTP10, streamed: true)
        #expect(plan.addsChunkedEncoding == (row.mode == .chunked))
        #expect(plan.sendsBody == (row.mode != .bodyless))
        #expect(!plan.addsContentLength)
        #expect(plan.connection == row.connection)
        #expect(machine.streamMode(sequence) == row.mode)
        #expect(!machine.canStartResponse(sequence), "a second head for a streaming response is ignored")
        let (lastChunk, then) = machine.streamFinished(sequence, now: 1)
        #expect(lastChunk == (row.mode == .chunked))
        #expect(then == (row.connection == .close ? .closeAfterFlush : .continueWithInput))
        #expect(machine.streamMode(sequence) == nil, "no chunk after the end")
    }

    @Test func anAbortedStreamClosesWithoutTheLastChunk() {
        var machine = Machine(configuration: configuration, now: 0)
        let sequence = dispatched(&machine)
        #expect(machine.streamAborted(sequence) == false, "nothing to abort before the stream starts")
        _ = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: true)
        #expect(machine.streamAborted(sequence) == true)
        #expect(machine.isFinished)
        #expect(machine.streamFinished(sequence, now: 1) == (false, .ignore))
    }

    // MARK: Pipelining and answers out of turn

    @Test func onlyTheCurrentRequestMayBeAnsweredAndOnlyOnce() {
        var machine = Machine(configuration: configuration, now: 0)
        let first = dispatched(&machine)
        #expect(!machine.canParse, "the next pipelined request waits for this answer")
        #expect(!machine.isCurrent(first + 1))
        #expect(machine.responseFinished(first + 1, now: 1) == .ignore)
        _ = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: false)
        #expect(machine.responseFinished(first, now: 1) == .continueWithInput)
        #expect(machine.responseFinished(first, now: 2) == .ignore, "a second answer for one request is ignored")
        #expect(!machine.canStartResponse(first))
        let second = dispatched(&machine)
        #expect(second == first + 1)
        #expect(!machine.canStartResponse(first))
        #expect(machine.canStartResponse(second))
    }

    @Test func anAnswerWithinAReadWaitsForTheReadToFinish() {
        var machine = Machine(configuration: configuration, now: 0)
        machine.readBegan(now: 0)
        let sequence = dispatched(&machine)
        _ = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: false)
        #expect(machine.isParsing)
        #expect(machine.responseFinished(sequence, now: 1) == .awaitInput)
        #expect(machine.readEnded(now: 2, inputPending: true) == true)
        #expect(machine.deadline == .header(at: 1_002), "bytes of the next request already here run the header timeout")
    }

    struct PumpCase: Sendable, CustomTestStringConvertible {
        let name: String
        let answering: Bool
        let peerFinished: Bool
        let inputBuffered: Bool
        let parsed: Bool
        let pending: Int
        let action: Machine.PumpAction
        var testDescription: String { name }
    }

    static let pumpCases: [PumpCase] = [
        PumpCase(name: "buffered input is parsed", answering: false, peerFinished: false, inputBuffered: true, parsed: false,
                 pending: 0, action: .parseInput),
        PumpCase(name: "not while answering", answering: true, peerFinished: false, inputBuffered: true, parsed: false,
                 pending: 0, action: .flushAndRead),
        PumpCase(name: "after parsing, read on", answering: false, peerFinished: false, inputBuffered: true, parsed: true,
                 pending: 0, action: .flushAndRead),
        PumpCase(name: "peer finished, all answered: close", answering: false, peerFinished: true, inputBuffered: false,
                 parsed: true, pending: 0, action: .closeAfterFlush),
        PumpCase(name: "peer finished, answers still piled up: wait", answering: false, peerFinished: true, inputBuffered: false,
                 parsed: true, pending: 101, action: .flushAndRead),
        PumpCase(name: "peer finished, still answering: wait", answering: true, peerFinished: true, inputBuffered: false,
                 parsed: true, pending: 0, action: .flushAndRead),
    ]

    @Test(arguments: pumpCases)
    func pumpingGoesOnWithInputOrClosesAHalfClosedConnection(_ row: PumpCase) {
        var machine = Machine(configuration: configuration, now: 0)
        if row.answering { _ = dispatched(&machine) }
        if row.peerFinished {
            #expect(machine.peerEnded(failed: false, inputBuffered: true) == .answerThenClose(pumpNow: !row.answering))
        }
        #expect(machine.pump(inputBuffered: row.inputBuffered, pendingWriteBytes: row.pending, parsed: row.parsed) == row.action)
    }

    @Test func readingPausesForUnreadAnswersOrPiledUpInput() {
        var machine = Machine(configuration: configuration, now: 0)
        #expect(machine.shouldRead(pendingWriteBytes: 100, bufferedInputBytes: 200) == true)
        #expect(machine.shouldRead(pendingWriteBytes: 101, bufferedInputBytes: 0) == false)
        #expect(machine.shouldRead(pendingWriteBytes: 0, bufferedInputBytes: 201) == false)
        _ = machine.peerEnded(failed: false, inputBuffered: true)
        #expect(machine.shouldRead(pendingWriteBytes: 0, bufferedInputBytes: 0) == nil, "nothing more will come")
    }

    // MARK: The peer's end

    struct PeerEndCase: Sendable, CustomTestStringConvertible {
        let name: String
        let answering: Bool
        let inputBuffered: Bool
        let failed: Bool
        let action: Machine.PeerEndAction
        let keepsAlive: Bool
        var testDescription: String { name }
    }

    static let peerEndCases: [PeerEndCase] = [
        PeerEndCase(name: "reset", answering: true, inputBuffered: true, failed: true, action: .close, keepsAlive: false),
        PeerEndCase(name: "idle", answering: false, inputBuffered: false, failed: false, action: .closeAfterFlush, keepsAlive: false),
        PeerEndCase(name: "requests buffered", answering: false, inputBuffered: true, failed: false,
                    action: .answerThenClose(pumpNow: true), keepsAlive: true),
        PeerEndCase(name: "answering the last request", answering: true, inputBuffered: false, failed: false,
                    action: .answerThenClose(pumpNow: false), keepsAlive: false),
        PeerEndCase(name: "answering, more buffered", answering: true, inputBuffered: true, failed: false,
                    action: .answerThenClose(pumpNow: false), keepsAlive: true),
    ]

    @Test(arguments: peerEndCases)
    func thePeersEndClosesOrAnswersFirst(_ row: PeerEndCase) {
        var machine = Machine(configuration: configuration, now: 0)
        let sequence = row.answering ? dispatched(&machine) : 0
        #expect(machine.peerEnded(failed: row.failed, inputBuffered: row.inputBuffered) == row.action)
        guard row.answering, !row.failed else { return }
        let plan = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: false)
        #expect(plan.connection == (row.keepsAlive ? .none : .close), "the last answer to a half-closed peer says close")
        _ = machine.responseFinished(sequence, now: 1)
    }

    // MARK: Deadlines

    @Test func theHeaderDeadlineAnswers408OnlyWhileARequestIsAwaited() {
        var machine = Machine(configuration: configuration, now: 0)
        #expect(machine.deadline == .header(at: 1_000))
        #expect(machine.tick(now: 999, unsentBytes: 0, takenBytes: 0) == .nothing)
        #expect(machine.tick(now: 1_000, unsentBytes: 0, takenBytes: 0) == .reject(.requestTimeout, reason: "request not received in time"))
        #expect(machine.isFinished)

        var answering = Machine(configuration: configuration, now: 0)
        _ = dispatched(&answering)
        #expect(answering.deadline == .none, "a slow handler is not the client's fault")
        #expect(answering.tick(now: 10_000, unsentBytes: 0, takenBytes: 0) == .nothing)
    }

    @Test func theIdleDeadlineWaitsForADrainingResponse() {
        var machine = Machine(configuration: configuration, now: 0)
        let sequence = dispatched(&machine)
        _ = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: false)
        _ = machine.responseFinished(sequence, now: 0)
        #expect(machine.deadline == .idle(at: 5_000))
        #expect(machine.tick(now: 4_999, unsentBytes: 0, takenBytes: 100) == .nothing)
        #expect(machine.tick(now: 5_000, unsentBytes: 50, takenBytes: 150) == .nothing, "still draining: another period")
        #expect(machine.deadline == .idle(at: 10_000))
        #expect(machine.tick(now: 10_000, unsentBytes: 30, takenBytes: 170) == .nothing, "the peer took more: another period")
        #expect(machine.tick(now: 10_999, unsentBytes: 30, takenBytes: 170) == .nothing)
        #expect(machine.tick(now: 11_000, unsentBytes: 30, takenBytes: 170) == .abort, "nothing taken for a header timeout: cut off")
        #expect(machine.isFinished)
        #expect(machine.tick(now: 99_000, unsentBytes: 0, takenBytes: 170) == .nothing)
    }

    /// A peer that stops reading is cut off a header timeout after it last took a byte, even
    /// while its response is still being produced (a stream growing the queue), when no other
    /// deadline runs.
    @Test func aPeerThatStopsReadingIsCutOffWhileItsResponseStreams() {
        var machine = Machine(configuration: configuration, now: 0)
        _ = dispatched(&machine)
        #expect(machine.deadline == .none)
        #expect(machine.tick(now: 100, unsentBytes: 0, takenBytes: 0) == .nothing)
        #expect(machine.tick(now: 200, unsentBytes: 500, takenBytes: 4_000) == .nothing)
        #expect(machine.tick(now: 1_199, unsentBytes: 900, takenBytes: 4_000) == .nothing, "the queue grew, but the peer took nothing")
        #expect(machine.tick(now: 1_200, unsentBytes: 1_300, takenBytes: 4_000) == .abort)
        #expect(machine.isFinished)
    }

    @Test func aPeerReadingSlowlyIsNeverCutOff() {
        var machine = Machine(configuration: configuration, now: 0)
        _ = dispatched(&machine)
        for step in 1...100 {
            #expect(machine.tick(now: UInt64(step) * 900, unsentBytes: 10_000, takenBytes: UInt64(step)) == .nothing)
        }
        #expect(!machine.isFinished)
    }

    @Test func bytesOnAnIdleConnectionStartTheHeaderDeadline() {
        var machine = Machine(configuration: configuration, now: 0)
        let sequence = dispatched(&machine)
        _ = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: false)
        _ = machine.responseFinished(sequence, now: 0)
        machine.readBegan(now: 3_000)
        #expect(machine.deadline == .header(at: 4_000))
        #expect(machine.readEnded(now: 3_000, inputPending: true) == true)
        #expect(machine.tick(now: 4_000, unsentBytes: 0, takenBytes: 0) == .reject(.requestTimeout, reason: "request not received in time"))
    }

    @Test func hostileClockValuesDoNotOverflow() {
        var machine = Machine(configuration: configuration, now: .max - 10)
        #expect(machine.deadline == .header(at: .max), "a deadline past the clock's end stays at its end, not wrapped to 0")
        #expect(machine.tick(now: .max - 1, unsentBytes: 0, takenBytes: 0) == .nothing)
    }

    // MARK: Upgrade and shutdown

    @Test func anUpgradeHandsTheStreamOverAndEndsTheRules() {
        var machine = Machine(configuration: configuration, now: 0)
        machine.readBegan(now: 0)
        let sequence = dispatched(&machine)
        #expect(machine.upgraded(sequence + 1) == false)
        #expect(machine.upgraded(sequence) == true)
        #expect(machine.isUpgraded)
        #expect(!machine.canParse)
        #expect(machine.readEnded(now: 1, inputPending: true) == false, "the new protocol owns what follows")
        #expect(machine.responseFinished(sequence, now: 1) == .ignore)
        #expect(machine.tick(now: 99_999, unsentBytes: 0, takenBytes: 0) == .nothing)
        #expect(machine.pump(inputBuffered: true, pendingWriteBytes: 0, parsed: false) == .nothing)
        machine.closed()
        #expect(machine.isUpgraded, "closing the HTTP side does not undo the upgrade")
    }

    struct ShutdownCase: Sendable, CustomTestStringConvertible {
        let name: String
        let answering: Bool
        let inputIdle: Bool
        let pending: Int
        let action: Machine.ShutdownAction
        var testDescription: String { name }
    }

    static let shutdownCases: [ShutdownCase] = [
        ShutdownCase(name: "idle", answering: false, inputIdle: true, pending: 0, action: .close),
        ShutdownCase(name: "idle, last answer leaving", answering: false, inputIdle: true, pending: 10, action: .closeAfterFlush),
        ShutdownCase(name: "a request half read", answering: false, inputIdle: false, pending: 0, action: .finishCurrentRequest),
        ShutdownCase(name: "answering", answering: true, inputIdle: true, pending: 0, action: .finishCurrentRequest),
    ]

    @Test(arguments: shutdownCases)
    func shutdownClosesIdleConnectionsAndFinishesBusyOnes(_ row: ShutdownCase) {
        var machine = Machine(configuration: configuration, now: 0)
        let sequence = row.answering ? dispatched(&machine) : 0
        #expect(machine.shutdownBegan(inputIdle: row.inputIdle, pendingWriteBytes: row.pending) == row.action)
        guard row.action == .finishCurrentRequest else {
            #expect(machine.isFinished)
            return
        }
        if !row.answering { _ = machine.headReceived(head(), framing: .none, bodyLimit: 10) }
        let current = row.answering ? sequence : machine.requestEnded()!
        let plan = machine.responseHead(status: .ok, appSetContentLength: false, asksToClose: false, responseIsHTTP10: false, streamed: false)
        #expect(plan.connection == .close)
        #expect(machine.responseFinished(current, now: 1) == .closeAfterFlush)
    }
}
