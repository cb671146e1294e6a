@testable import CourierRedis
import Testing

/// The decisions the sockets carry out, checked with no sockets at all.
@Suite struct BackoffScheduleTests {
    @Test func delaysDoubleFrom100msUpTo5s() {
        let backoff = RedisBackoff()
        let nominal = (1...9).map { backoff.nominalDelay(afterFailures: $0) }
        #expect(nominal == [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000, 5_000].map { Duration.milliseconds($0) })
    }

    @Test func hugeFailureCountsStayAtTheCap() {
        let backoff = RedisBackoff()
        #expect(backoff.nominalDelay(afterFailures: 10_000) == .seconds(5))
        #expect(backoff.nominalDelay(afterFailures: Int.max) == .seconds(5))
        #expect(backoff.nominalDelay(afterFailures: 0) == .milliseconds(100))
        #expect(backoff.nominalDelay(afterFailures: -5) == .milliseconds(100))
    }

    @Test func jitterOnlyShortensAndByAtMostItsShare() {
        let backoff = RedisBackoff()  // jitter 0.5
        #expect(backoff.delay(afterFailures: 3, random: 0) == .milliseconds(400))
        #expect(backoff.delay(afterFailures: 3, random: 0.5) == .milliseconds(300))
        #expect(backoff.delay(afterFailures: 3, random: 0.999_999) == .milliseconds(201))
        var generator = SystemRandomNumberGenerator()
        for failures in 1...12 {
            let nominal = backoff.nominalDelay(afterFailures: failures)
            for _ in 0..<100 {
                let delay = backoff.delay(afterFailures: failures, random: Double.random(in: 0..<1, using: &generator))
                #expect(delay <= nominal && delay > nominal / 2 - .milliseconds(1))
            }
        }
        let noJitter = RedisBackoff(jitter: 0)
        #expect(noJitter.delay(afterFailures: 2, random: 0.9) == .milliseconds(200))
        let silly = RedisBackoff(initial: .seconds(10), maximum: .seconds(1), jitter: 7)
        #expect(silly.nominalDelay(afterFailures: 4) == .seconds(10))
        #expect(silly.delay(afterFailures: 1, random: 0.5) == .seconds(5))
    }
}

@Suite struct ConnectionLifecycleTests {
    @Test func commandsWaitWhileConnectingAndGoWhenReady() {
        var lifecycle = ConnectionLifecycle(backoff: RedisBackoff())
        #expect(lifecycle.admission(now: 0) == .wait)
        let first = lifecycle.start()
        let second = lifecycle.start()
        #expect(first && !second)
        #expect(lifecycle.admission(now: 0) == .wait)
        lifecycle.connected(now: 10)
        #expect(lifecycle.isReady)
        #expect(lifecycle.admission(now: 10) == .send)
    }

    @Test func failedAttemptsBackOffAndRefuseCommandsAtOnce() {
        var lifecycle = ConnectionLifecycle(backoff: RedisBackoff())
        _ = lifecycle.start()
        do { let next = lifecycle.attemptFailed(reason: "refused", now: 1_000, random: 0); #expect(next == .retry(afterMilliseconds: 100)) }
        guard case .refuse(.notConnected(let reason)) = lifecycle.admission(now: 1_040) else {
            Issue.record("not refused: \(lifecycle.admission(now: 1_040))")
            return
        }
        #expect(reason.contains("refused") && reason.contains("next attempt in 60 ms"))
        let elapsed = lifecycle.backoffElapsed()
        #expect(elapsed)
        #expect(lifecycle.admission(now: 1_100) == .wait)
        do { let next = lifecycle.attemptFailed(reason: "refused", now: 1_100, random: 0); #expect(next == .retry(afterMilliseconds: 200)) }
        _ = lifecycle.backoffElapsed()
        do { let next = lifecycle.attemptFailed(reason: "refused", now: 1_300, random: 0); #expect(next == .retry(afterMilliseconds: 400)) }
        _ = lifecycle.backoffElapsed()
        lifecycle.connected(now: 2_000)
        #expect(lifecycle.failures == 3)  // reset only once the connection has proved itself
    }

    @Test func aConnectionThatLastedReconnectsAtOnce() {
        var lifecycle = ConnectionLifecycle(backoff: RedisBackoff())
        _ = lifecycle.start()
        _ = lifecycle.attemptFailed(reason: "x", now: 0, random: 0)
        _ = lifecycle.backoffElapsed()
        lifecycle.connected(now: 1_000)
        do { let next = lifecycle.connectionLost(reason: "killed", now: 5_000, random: 0); #expect(next == .connectNow) }
        #expect(lifecycle.failures == 0)
        #expect(lifecycle.admission(now: 5_000) == .wait)
    }

    @Test func aConnectionLostAtOnceCountsAsAFailure() {
        var lifecycle = ConnectionLifecycle(backoff: RedisBackoff())
        _ = lifecycle.start()
        lifecycle.connected(now: 1_000)
        do { let next = lifecycle.connectionLost(reason: "dropped", now: 1_001, random: 0); #expect(next == .retry(afterMilliseconds: 100)) }
        _ = lifecycle.backoffElapsed()
        lifecycle.connected(now: 1_200)
        do { let next = lifecycle.connectionLost(reason: "dropped", now: 1_201, random: 0); #expect(next == .retry(afterMilliseconds: 200)) }
    }

    @Test func closedRefusesEverythingAndIgnoresEvents() {
        var lifecycle = ConnectionLifecycle(backoff: RedisBackoff())
        _ = lifecycle.start()
        lifecycle.close()
        #expect(lifecycle.admission(now: 0) == .refuse(.closed))
        do { let next = lifecycle.attemptFailed(reason: "x", now: 0, random: 0); #expect(next == .nothing) }
        do { let next = lifecycle.connectionLost(reason: "x", now: 0, random: 0); #expect(next == .nothing) }
        let elapsed = lifecycle.backoffElapsed()
        #expect(!elapsed)
        lifecycle.connected(now: 0)
        #expect(lifecycle.isClosed)
    }
}

@Suite struct ReplyQueueTests {
    @Test func repliesGoToCommandsInOrder() {
        var queue = ReplyQueue<Int>()
        for index in 0..<5_000 { queue.append(index, timeout: 100, now: 0) }
        var answered: [Int] = []
        while let index = queue.popFirst(now: 1) { answered.append(index) }
        #expect(answered == Array(0..<5_000))
        do { let none = queue.popFirst(now: 2); #expect(none == nil) }
        #expect(queue.earliestDeadline == nil)
    }

    /// The oldest command's time runs from when it became the oldest: a burst behind it waits
    /// for Redis to work through what came first, not against the clock.
    @Test func theOldestCommandIsTimedFromWhenItBecameTheOldest() {
        var queue = ReplyQueue<String>()
        queue.append("blocking read", timeout: 30_000, now: 0)
        queue.append("get", timeout: 2_000, now: 5)
        queue.append("set", timeout: 2_000, now: 6)
        #expect(queue.earliestDeadline == 30_000)
        _ = queue.popFirst(now: 25_000)  // the blocking read answered: the get's clock starts now
        #expect(queue.earliestDeadline == 27_000)
        _ = queue.popFirst(now: 25_001)
        #expect(queue.earliestDeadline == 27_001)
        _ = queue.popFirst(now: 25_002)
        #expect(queue.isEmpty && queue.earliestDeadline == nil)
        queue.append("short", timeout: 500, now: 40_000)  // sent to an idle connection: from now
        queue.append("next", timeout: 500, now: 40_001)
        #expect(queue.earliestDeadline == 40_500)
        let rest = queue.removeAll()
        #expect(rest.map(\.waiter) == ["short", "next"])
        #expect(queue.isEmpty && queue.earliestDeadline == nil)
        queue.append("after", timeout: 9, now: 50_000)
        #expect(queue.earliestDeadline == 50_009)
        do { let last = queue.popFirst(now: 50_001); #expect(last == "after") }
    }

    @Test func fifoKeepsOrderAcrossCompaction() {
        var fifo = FIFO<Int>()
        var expected: [Int] = []
        var next = 0
        for round in 0..<50 {
            for _ in 0..<(round * 37 % 500 + 1) {
                fifo.append(next)
                expected.append(next)
                next += 1
            }
            for _ in 0..<(round * 53 % 400) {
                guard let value = fifo.popFirst() else { break }
                #expect(value == expected.removeFirst())
            }
        }
        #expect(fifo.count == expected.count)
        do { let rest = fifo.removeAll(); #expect(rest == expected) }
    }
}

@Suite struct SubscriptionTableTests {
    typealias Table = SubscriptionTable<String, String>
    let news = Array("news".utf8)

    @Test func aConfirmationSettlesOnce() {
        var table = Table()
        let outcome = table.subscribe(news, handler: "h1", confirmation: "c1", sendNow: true)
        #expect(outcome.send && outcome.confirmedNow == nil)
        #expect(!table.isActive(news))
        do { let settled = table.confirmed(news); #expect(settled == ["c1"]) }
        #expect(table.isActive(news))
        do { let settled = table.confirmed(news); #expect(settled.isEmpty) }
        // Already confirmed: a new handler takes over and is confirmed with no round trip.
        let again = table.subscribe(news, handler: "h2", confirmation: "c2", sendNow: true)
        #expect(!again.send && again.confirmedNow == "c2")
        #expect(table.handler(for: news) == "h2")
    }

    @Test func aStaleConfirmationDoesNotConfirmALaterSubscription() {
        var table = Table()
        _ = table.subscribe(news, handler: "h1", confirmation: "c1", sendNow: true)
        let dropped = table.unsubscribe(news, connected: true)
        #expect(dropped.send && dropped.orphaned == ["c1"])
        #expect(table.handler(for: news) == nil)
        _ = table.subscribe(news, handler: "h2", confirmation: "c2", sendNow: true)
        do { let settled = table.confirmed(news); #expect(settled.isEmpty) }  // the first SUBSCRIBE's
        #expect(!table.isActive(news))
        do { let settled = table.confirmed(news); #expect(settled == ["c2"]) }
        #expect(table.isActive(news))
    }

    @Test func channelsOutliveTheConnection() {
        var table = Table()
        _ = table.subscribe(news, handler: "h", confirmation: "c1", sendNow: true)
        let sports = Array("sports".utf8)
        _ = table.subscribe(sports, handler: "s", confirmation: nil, sendNow: true)
        _ = table.confirmed(sports)
        do { let orphaned = table.disconnected(); #expect(orphaned == ["c1"]) }
        #expect(!table.isActive(sports))
        let waiting = table.subscribe(Array("weather".utf8), handler: "w", confirmation: "c3", sendNow: false)
        #expect(!waiting.send)
        do { let all = table.resubscribeAll(); #expect(Set(all) == Set([news, sports, Array("weather".utf8)])) }
        do { let settled = table.confirmed(Array("weather".utf8)); #expect(settled == ["c3"]) }
        #expect(table.handler(for: news) == "h")
        do { let outcome = table.unsubscribe(Array("nothing".utf8), connected: true); #expect(!outcome.send) }
    }
}
