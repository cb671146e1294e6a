import CourierLoop
import Testing

/// An actor whose every method runs on its loop.
private actor LoopBound {
    let loop: EventLoop
    init(loop: EventLoop) { self.loop = loop }
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    func whereAmI() async -> [Bool] {
        let before = loop.inEventLoop
        await Task.yield()
        let after = loop.inEventLoop
        return [before, after]
    }
}

/// An actor bound to a loop that notices two of its calls running at once.
private actor Exclusive {
    let loop: EventLoop
    private var inside = false
    private(set) var overlaps = 0
    private(set) var calls = 0
    init(loop: EventLoop) { self.loop = loop }
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    func step() {
        if inside { overlaps += 1 }
        inside = true
        let until = ContinuousClock.now + .microseconds(200)
        while ContinuousClock.now < until {}
        inside = false
        calls += 1
    }
}

@Suite struct ExecutorTests {
    /// Calls into an actor bound to a loop that has stopped still run one at a time (they ran on
    /// whichever thread made them, side by side, before).
    @Test func anActorOnAStoppedLoopStillRunsOneCallAtATime() async {
        let loop = EventLoop(name: "stopped")
        loop.startThread()
        loop.stop()
        loop.waitUntilStopped()
        let actor = Exclusive(loop: loop)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask { for _ in 0..<20 { await actor.step() } }
            }
        }
        #expect(await actor.calls == 160)
        #expect(await actor.overlaps == 0)
    }

    /// A task that prefers a loop and outlives it: it finishes, its jobs one at a time, instead
    /// of hanging suspended or running two of the loop's jobs at once on other threads.
    @Test func aTaskOutlivingItsLoopStillFinishesOneJobAtATime() async {
        let loop = EventLoop(name: "short-lived")
        loop.startThread()
        let started = Delivery<Bool>()
        let task = Task(executorPreference: loop) { () -> Int in
            started.deliver(true)
            var steps = 0
            for _ in 0..<50 {
                try? await Task.sleep(for: .milliseconds(1))
                steps += 1
            }
            return steps
        }
        #expect(await started.value() == true)
        loop.stop()
        loop.waitUntilStopped()
        #expect(await task.value == 50)
    }

    @Test func aTaskPreferringTheLoopRunsOnItAcrossSuspensions() async {
        await withLoop { loop in
            let observed = await Task(executorPreference: loop) { () -> [Bool] in
                let before = loop.inEventLoop
                await Task.yield()
                let afterYield = loop.inEventLoop
                try? await Task.sleep(for: .milliseconds(5))
                let afterSleep = loop.inEventLoop
                return [before, afterYield, afterSleep]
            }.value
            #expect(observed == [true, true, true])
            #expect(!loop.inEventLoop)
        }
    }

    @Test func manyTasksPreferringTheLoopAllRunOnIt() async {
        await withLoop { loop in
            let results = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<200 {
                    group.addTask(executorPreference: loop) {
                        await Task.yield()
                        return loop.inEventLoop
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.count == 200)
            #expect(results.allSatisfy { $0 })
        }
    }

    @Test func anActorOnTheLoopRunsThere() async {
        await withLoop { loop in
            let observed = await LoopBound(loop: loop).whereAmI()
            #expect(observed == [true, true])
        }
    }
}
