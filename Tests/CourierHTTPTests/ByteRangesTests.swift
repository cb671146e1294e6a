import CourierHTTP
import Testing

/// `Range` as RFC 9110 §14 reads it, for a 1,000-byte file unless said otherwise.
@Suite struct ByteRangesTests {
    @Test(arguments: [
        ("bytes=0-499", 0..<500), ("bytes=500-999", 500..<1000), ("bytes=500-", 500..<1000),
        ("bytes=-200", 800..<1000), ("bytes=0-0", 0..<1), ("bytes=999-", 999..<1000),
        ("bytes=990-5000", 990..<1000), ("bytes=-5000", 0..<1000), ("BYTES=1-2", 1..<3),
        ("bytes= 1-2 ", 1..<3), ("bytes=1-2,", 1..<3), ("bytes=,1-2", 1..<3),
        // Several ranges that overlap or touch become one.
        ("bytes=0-99,100-199", 0..<200), ("bytes=100-199, 0-150", 0..<200), ("bytes=0-499,-600", 0..<1000),
        ("bytes=5-5,5-5,5-5,5-5", 5..<6),
        // A range past the end among satisfiable ones is dropped, not fatal.
        ("bytes=0-9,5000-6000", 0..<10),
        ("bytes=0-99999999999999999999", 0..<1000),
    ] as [(String, Range<Int>)])
    func satisfiableRangesAre206(header: String, range: Range<Int>) {
        #expect(ByteRanges.select(header, length: 1000) == .partial(range), "\(header)")
    }

    @Test(arguments: [
        "bytes=1000-", "bytes=1000-2000", "bytes=-0", "bytes=5000-,6000-7000", "bytes=99999999999999999999-",
        "bytes=18446744073709551616-18446744073709551617", "bytes=-0,-0",
    ])
    func rangesPastTheEndAre416(header: String) {
        #expect(ByteRanges.select(header, length: 1000) == .unsatisfiable, "\(header)")
    }

    /// A header that does not parse is ignored (RFC 9110 §14.2), as is one with two disjoint
    /// ranges: the whole file, never more.
    @Test(arguments: [
        "", "bytes=", "bytes", "items=0-1", "bytes 0-1", "bytes=a-b", "bytes=5-3", "bytes=-", "bytes=--1",
        "bytes=+1-2", "bytes=1-+2", "bytes=0x10-0x20", "bytes=1 -2", "bytes=1-2-3", "bytes=0-1;x", "bytes=١-٢",
        "bytes=0-0,2-2", "bytes=0-99,200-299", "bytes=-1,0-0",
    ])
    func unusableHeadersGiveTheWholeFile(header: String) {
        #expect(ByteRanges.select(header, length: 1000) == .whole, "\(header)")
    }

    @Test func manyRangesAreIgnoredWithoutAmplifying() {
        let overlapping = "bytes=" + Array(repeating: "0-999", count: ByteRanges.maxRanges).joined(separator: ",")
        #expect(ByteRanges.select(overlapping, length: 1000) == .partial(0..<1000))
        let tooMany = "bytes=" + Array(repeating: "0-999", count: ByteRanges.maxRanges + 1).joined(separator: ",")
        #expect(ByteRanges.select(tooMany, length: 1000) == .whole)
        let tiny = "bytes=" + (0..<ByteRanges.maxRanges).map { "\($0 * 2)-\($0 * 2)" }.joined(separator: ",")
        #expect(ByteRanges.select(tiny, length: 1000) == .whole)
    }

    @Test func anEmptyFileOrNoHeaderIsWhole() {
        #expect(ByteRanges.select(nil, length: 1000) == .whole)
        #expect(ByteRanges.select("bytes=0-0", length: 0) == .whole)
        #expect(ByteRanges.select("bytes=-5", length: 0) == .whole)
    }

    @Test func contentRangeValues() {
        #expect(ByteRanges.contentRange(0..<500, length: 1000) == "bytes 0-499/1000")
        #expect(ByteRanges.unsatisfiedRange(length: 1000) == "bytes */1000")
    }

    @Test func arbitraryHeadersNeverTrapAndStayInBounds() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("bytes=0123456789-, \t".utf8) + [0x39, 0x39, 0x39]
        for _ in 0..<20_000 {
            let length = Int.random(in: 0...2000, using: &generator)
            let header = "bytes=" + String(decoding: (0..<Int.random(in: 0...30, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
            if case .partial(let range) = ByteRanges.select(header, length: length) {
                #expect(range.lowerBound >= 0 && range.upperBound <= length && !range.isEmpty, "\(header) on \(length)")
            }
        }
    }
}

@Suite struct AcceptEncodingTests {
    @Test(arguments: [
        ("gzip, deflate, br, zstd", "br"), ("gzip", "gzip"), ("br;q=0.5, gzip", "gzip"), ("gzip;q=0.8, br;q=0.9", "br"),
        ("*", "br"), ("*;q=0.5, gzip;q=0.6", "gzip"), ("br;q=0, *", "gzip"), ("GZIP", "gzip"), ("gzip ; q=1.000", "gzip"),
        ("identity;q=0.5, gzip", "gzip"),
    ])
    func preferredCoding(header: String, coding: String) {
        #expect(AcceptEncoding([header]).preferred(among: ["br", "gzip"]) == coding, "\(header)")
    }

    @Test(arguments: [
        "", "identity", "gzip;q=0", "gzip;q=0.000, br;q=0", "*;q=0", "deflate", "gzip;q=2", "gzip;q=0.5000",
        "gzip;q=x", "gzip;q=-1", "gzip;q=1.5", "identity;q=1, gzip;q=0.5", "gzip;q=99999999999999999999",
    ])
    func refusedOrUnknown(header: String) {
        #expect(AcceptEncoding([header]).preferred(among: ["br", "gzip"]) == nil, "\(header)")
    }

    @Test func withoutTheFieldOnlyIdentity() {
        let none = AcceptEncoding([])
        #expect(none.weight(of: "gzip") == 0)
        #expect(none.weight(of: "identity") == 1000)
        #expect(AcceptEncoding(["*;q=0"]).weight(of: "identity") == 0)
        #expect(AcceptEncoding(["gzip;q=0.25"]).weight(of: "gzip") == 250)
        #expect(AcceptEncoding(["br", "gzip;q=0.5"]).weight(of: "gzip") == 500, "several fields are one list")
    }
}

@Suite struct HTTPDateParseTests {
    @Test(arguments: [
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777), ("Sunday, 06-Nov-94 08:49:37 GMT", 784_111_777),
        ("Sun Nov  6 08:49:37 1994", 784_111_777), ("Thu, 01 Jan 1970 00:00:00 GMT", 0),
        ("Thu, 29 Feb 2024 13:45:10 GMT", 1_709_214_310), ("Tuesday, 01-Jan-30 00:00:00 GMT", 1_893_456_000),
    ])
    func readsTheThreeForms(text: String, seconds: Int) {
        #expect(HTTPDate.parse(text) == seconds, "\(text)")
    }

    @Test func roundTripsWhatFormatWrites() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let seconds = Int.random(in: 0...253_402_300_799, using: &generator)
            #expect(HTTPDate.parse(HTTPDate.format(secondsSince1970: seconds)) == seconds)
        }
    }

    @Test(arguments: [
        "", "yesterday", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 99999999999999999999 08:49:37 GMT",
        "Sun, 99999999999999999999 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 -8:49:37 GMT", "Sun, 06 Nov 1994 08:49 GMT", "Sun, ٠٦ Nov 1994 08:49:37 GMT",
    ])
    func refusesAnythingElse(text: String) {
        #expect(HTTPDate.parse(text) == nil, "\(text)")
    }
}

@Suite struct GzipTests {
    @Test func roundTripsThroughZlib() throws {
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 100, 65_536, 300_000] {
            let text = (0..<size).map { _ in UInt8.random(in: 97...100, using: &generator) }
            let compressed = Gzip.compress(text)
            #expect(compressed.starts(with: [0x1F, 0x8B]), "a gzip member")
            #expect(Gzip.decompress(compressed, limit: size) == text)
            if size >= 100 { #expect(compressed.count < size) }
        }
        let random = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(Gzip.decompress(Gzip.compress(random, level: 1), limit: random.count) == random)
    }

    @Test func decompressRefusesGarbageAndBombs() {
        #expect(Gzip.decompress([1, 2, 3], limit: 100) == nil)
        let zeros = Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(Gzip.decompress(zeros, limit: 1000) == nil)
        #expect(Gzip.decompress(Array(zeros.dropLast(4)), limit: 2 << 20) == nil, "truncated")
    }
}
