@testable import CourierLoop
import Testing

/// A table that held a crowd gives its buckets back once the crowd has left, and keeps every
/// entry that stayed.
@Suite struct SparseTablesTests {
    @Test func aDictionaryShrinksOnceAnEighthFullAndKeepsWhatStayed() {
        var table: [String: Int] = [:]
        for index in 0..<20_000 { table["client-\(index)"] = index }
        let crowded = table.capacity
        for index in 0..<20_000 where index % 1_000 != 0 {
            table["client-\(index)"] = nil
            table.shrinkIfSparse()
        }
        #expect(table.count == 20)
        #expect(table.capacity < crowded / 100, "capacity \(table.capacity), was \(crowded)")
        for index in stride(from: 0, to: 20_000, by: 1_000) { #expect(table["client-\(index)"] == index) }
    }

    @Test func aTableStillFullEnoughIsLeftAlone() {
        var table: [Int: Int] = [:]
        for index in 0..<1_000 { table[index] = index }
        let capacity = table.capacity
        for index in 0..<600 { table[index] = nil }
        table.shrinkIfSparse()
        #expect(table.capacity == capacity)
        #expect(table.count == 400)
    }
}
