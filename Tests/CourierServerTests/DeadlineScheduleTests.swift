import CourierServer
import Testing

/// The loop's schedule of connection deadlines: each connection comes up once, at its latest
/// time, in time order; moving a time earlier wins, later does not; a forgotten one never comes.
@Suite struct DeadlineScheduleTests {
    final class Handle {}

    @Test func connectionsComeUpInTimeOrderOnceEach() {
        var schedule = DeadlineSchedule()
        let handles = (0..<1000).map { _ in Handle() }
        var generator = SplitMix64(seed: 7)
        var due: [ObjectIdentifier: UInt64] = [:]
        for handle in handles {
            let time = generator.next() % 10_000
            due[ObjectIdentifier(handle)] = time
            schedule.schedule(ObjectIdentifier(handle), at: time)
        }
        var seen: [UInt64] = []
        var now: UInt64 = 0
        while now <= 10_000 {
            while let id = schedule.popDue(now: now) {
                #expect(due[id]! <= now)
                seen.append(due[id]!)
                due[id] = nil
            }
            now += 250
        }
        #expect(due.isEmpty, "every connection came up")
        #expect(seen.count == 1000)
        #expect(seen == seen.sorted(), "in time order")
        #expect(schedule.count == 0)
    }

    @Test func anEarlierTimeWinsALaterOneDoesNotAndForgottenOnesNeverCome() {
        var schedule = DeadlineSchedule()
        let a = Handle(), b = Handle(), c = Handle()
        let (ia, ib, ic) = (ObjectIdentifier(a), ObjectIdentifier(b), ObjectIdentifier(c))
        schedule.schedule(ia, at: 9_000)
        schedule.schedule(ib, at: 5_000)
        schedule.schedule(ic, at: 100)
        schedule.scheduleIfEarlier(ia, at: 1_000)   // began closing: its close timeout is sooner
        schedule.scheduleIfEarlier(ib, at: 8_000)   // later: stays at 5,000
        schedule.forget(ic)
        #expect(schedule.popDue(now: 999) == nil, "c was forgotten, a moved to 1,000")
        #expect(schedule.popDue(now: 1_000) == ia)
        #expect(schedule.popDue(now: 4_999) == nil)
        #expect(schedule.popDue(now: 5_000) == ib)
        #expect(schedule.popDue(now: 20_000) == nil, "a's stale 9,000 entry is not a second coming")
        #expect(schedule.count == 0)
    }
}
