import CourierLoop
import Dispatch
import Testing

@Suite struct ExecuteTests {
    @Test func executeRunsOnTheLoopThread() async {
        await withLoop { loop in
            #expect(!loop.inEventLoop)
            #expect(await onLoop(loop) { $0.deliver(loop.inEventLoop) } == true)
        }
    }

    @Test func currentIsTheLoopRunningOnTheThreadAndNoneElsewhere() async {
        await withLoop { loop in
            #expect(EventLoop.current == nil)
            #expect(await onLoop(loop) { $0.deliver(EventLoop.current === loop) } == true)
            await withLoop { other in
                #expect(await onLoop(other) { $0.deliver(EventLoop.current === other) } == true)
            }
        }
        #expect(EventLoop.current == nil)
    }

    @Test func closuresFromManyThreadsAllArriveInOrderPerPoster() async {
        let posters = 8, perPoster = 2_000
        await withLoop { loop in
            let arrivals = Recorder<(poster: Int, index: Int, onLoop: Bool)>()
            DispatchQueue.concurrentPerform(iterations: posters) { poster in
                for index in 0..<perPoster {
                    let accepted = loop.execute { arrivals.append((poster, index, loop.inEventLoop)) }
                    precondition(accepted, "the loop refused work while running")
                }
            }
            // Posted after every poster finished, so it runs after all their closures.
            #expect(await onLoop(loop) { $0.deliver(true) } == true)
            let all = arrivals.all
            #expect(all.count == posters * perPoster)
            #expect(all.allSatisfy { $0.onLoop })
            for poster in 0..<posters {
                let sequence = all.filter { $0.poster == poster }.map(\.index)
                #expect(sequence == Array(0..<perPoster), "poster \(poster)")
            }
        }
    }

    @Test func closuresPostedBeforeStopStillRun() {
        let loop = EventLoop(name: "stopping")
        loop.startThread()
        let ran = Recorder<Int>()
        for index in 0..<500 { loop.execute { ran.append(index) } }
        loop.stop()
        loop.waitUntilStopped()
        #expect(ran.all == Array(0..<500))
    }

    @Test func executeAfterStopIsRefusedAndNeverRuns() async {
        let loop = EventLoop(name: "stopped")
        loop.startThread()
        loop.stop()
        loop.waitUntilStopped()
        let ran = Recorder<Bool>()
        #expect(!loop.execute { ran.append(true) })
        await pause(milliseconds: 20)
        #expect(ran.count == 0)
    }

    @Test func stopHandlersRunOnTheLoopWhenItStops() async throws {
        let loop = EventLoop(name: "handlers")
        loop.startThread()
        let stopped = Recorder<Bool>()
        let registered = await onLoop(loop) { (delivery: Delivery<Bool>) in
            loop.onStop { stopped.append(loop.inEventLoop) }
            loop.onStop { stopped.append(loop.inEventLoop) }
            delivery.deliver(true)
        }
        #expect(registered == true)
        #expect(stopped.count == 0)
        loop.stop()
        loop.waitUntilStopped()
        #expect(stopped.all == [true, true])
    }

    @Test func stoppingTwiceIsHarmless() {
        let loop = EventLoop(name: "twice")
        loop.startThread()
        loop.stop()
        loop.stop()
        loop.waitUntilStopped()
        loop.stop()
        #expect(!loop.execute {})
    }

    @Test func deferredWorkRunsAfterTheCurrentCallback() async throws {
        try await withLoop { loop in
            let order = try #require(await onLoop(loop) { (delivery: Delivery<[String]>) in
                var order: [String] = []
                loop.deferToEndOfIteration {
                    order.append("deferred")
                    loop.deferToEndOfIteration {
                        order.append("deferred by deferred")
                        delivery.deliver(order)
                    }
                }
                order.append("inline")
            })
            #expect(order == ["inline", "deferred", "deferred by deferred"])
        }
    }
}
