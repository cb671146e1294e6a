@testable import CourierLoop
import Testing

/// `EventLoop.schedule`: work due at a time, every pending work of a loop behind one timer.
@Suite struct DeadlinesTests {
    /// Works run in the order they come due, whatever order they were scheduled in, each no
    /// earlier than its delay; works due in the same millisecond run in scheduling order.
    @Test func worksRunInDueOrderAfterTheirDelays() async throws {
        try await withLoop { loop in
            let runs = try #require(await onLoop(loop) { (delivery: Delivery<[(String, UInt64)]>) in
                let start = loop.now
                var ran: [(String, UInt64)] = []
                for (name, delay) in [("60", 60), ("20a", 20), ("40", 40), ("20b", 20), ("0", 0)] as [(String, UInt64)] {
                    loop.schedule(afterMilliseconds: delay) {
                        ran.append((name, loop.now - start))
                        if ran.count == 5 { delivery.deliver(ran) }
                    }
                }
            })
            #expect(runs.map(\.0) == ["0", "20a", "20b", "40", "60"])
            for (name, elapsed) in runs { #expect(elapsed >= UInt64(name.prefix(2).filter(\.isNumber))!, "\(name)") }
        }
    }

    /// A work scheduled from inside another, and one due before the deadline the timer is set
    /// for, both run on time.
    @Test func schedulingFromAWorkAndAnEarlierDeadline() async throws {
        try await withLoop { loop in
            let order = try #require(await onLoop(loop) { (delivery: Delivery<[String]>) in
                var order: [String] = []
                loop.schedule(afterMilliseconds: 200) {
                    order.append("late")
                    delivery.deliver(order)
                }
                loop.schedule(afterMilliseconds: 10) {
                    order.append("early")
                    loop.schedule(afterMilliseconds: 10) { order.append("from a work") }
                    loop.schedule(afterMilliseconds: 0) { order.append("at once") }
                }
            })
            #expect(order == ["early", "at once", "from a work", "late"])
        }
    }

    /// Many waiting works cost no handle each: they all run, and the loop stops with every
    /// handle closed (the shared timer closes with the loop).
    @Test func tenThousandWorksShareOneTimer() async throws {
        try await withLoop { loop in
            let count = try #require(await onLoop(loop) { (delivery: Delivery<Int>) in
                var ran = 0
                for index in 0..<10_000 {
                    loop.schedule(afterMilliseconds: UInt64(index % 50)) {
                        ran += 1
                        if ran == 10_000 { delivery.deliver(ran) }
                    }
                }
            })
            #expect(count == 10_000)
        }
    }

    /// Work still pending when the loop stops never runs, and the loop closes cleanly.
    @Test func pendingWorkAtStopNeverRuns() async {
        let ran = Recorder<Bool>()
        await withLoop { loop in
            let scheduled = await onLoop(loop) { (delivery: Delivery<Bool>) in
                loop.schedule(afterMilliseconds: 60_000) { ran.append(true) }
                loop.schedule(afterMilliseconds: .max) { ran.append(true) }
                delivery.deliver(true)
            }
            #expect(scheduled == true)
        }
        #expect(ran.count == 0)
    }
}
