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

@Suite struct ExecutorTests {
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
