import CourierLoop
import Testing

@Suite struct TimerTests {
    @Test func aOneShotTimerFiresOnceAfterItsDelay() async {
        // The timer is left open on purpose: the loop closes it when it stops.
        await withLoop(expectHandlesLeftOpen: 1) { loop in
            let fires = Recorder<Bool>()
            let clock = ContinuousClock()
            let started = clock.now
            let fired = await onLoop(loop) { (delivery: Delivery<Bool>) in
                let timer = Timer(loop: loop)
                timer.start(after: 50) {
                    fires.append(loop.inEventLoop)
                    delivery.deliver(true)
                }
            }
            #expect(fired == true)
            #expect(clock.now - started >= .milliseconds(45))
            await pause(milliseconds: 150)
            #expect(fires.all == [true])
        }
    }

    @Test func aRepeatingTimerFiresUntilStopped() async throws {
        try await withLoop { loop in
            let fires = Recorder<UInt64>()
            let times = try #require(await onLoop(loop) { (delivery: Delivery<[UInt64]>) in
                let timer = Timer(loop: loop)
                timer.start(after: 5, repeating: 10) {
                    fires.append(loop.now)
                    guard fires.count == 5 else { return }
                    timer.stop()
                    // Long enough for five more repeats had the stop not worked.
                    let check = Timer(loop: loop)
                    check.start(after: 100) {
                        check.close()
                        timer.close()
                        delivery.deliver(fires.all)
                    }
                }
            })
            #expect(times.count == 5)
            for (earlier, later) in zip(times, times.dropFirst()) {
                #expect(later - earlier >= 10)
            }
        }
    }

    @Test func aStoppedTimerNeverFiresAndCanBeStartedAgain() async {
        await withLoop { loop in
            let fires = Recorder<String>()
            let restarted = await onLoop(loop) { (delivery: Delivery<Bool>) in
                let timer = Timer(loop: loop)
                timer.start(after: 20) { fires.append("first") }
                timer.stop()
                let later = Timer(loop: loop)
                later.start(after: 80) {
                    later.close()
                    timer.start(after: 10) {
                        fires.append("second")
                        timer.close()
                        delivery.deliver(true)
                    }
                }
            }
            #expect(restarted == true)
            #expect(fires.all == ["second"])
        }
    }

    @Test func startingAgainReplacesTheCallback() async {
        await withLoop { loop in
            let fires = Recorder<String>()
            let fired = await onLoop(loop) { (delivery: Delivery<Bool>) in
                let timer = Timer(loop: loop)
                timer.start(after: 10) { fires.append("replaced") }
                timer.start(after: 20) {
                    fires.append("replacement")
                    timer.close()
                    delivery.deliver(true)
                }
            }
            #expect(fired == true)
            await pause(milliseconds: 30)
            #expect(fires.all == ["replacement"])
        }
    }

    @Test func aClosedTimerNeverFires() async {
        await withLoop { loop in
            let fires = Recorder<Bool>()
            let closed = await onLoop(loop) { (delivery: Delivery<Bool>) in
                let timer = Timer(loop: loop)
                timer.start(after: 10) { fires.append(true) }
                timer.close()
                timer.start(after: 10) { fires.append(true) }
                timer.stop()
                delivery.deliver(timer.isClosed)
            }
            #expect(closed == true)
            await pause(milliseconds: 60)
            #expect(fires.count == 0)
        }
    }
}
