import CourierHTTP
import Glibc
import Testing

@Suite struct HTTPDateTests {
    @Test(arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (1_709_214_310, "Thu, 29 Feb 2024 13:45:10 GMT"),
        (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
        (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
        (946_684_799, "Fri, 31 Dec 1999 23:59:59 GMT"),
        (2_147_483_648, "Tue, 19 Jan 2038 03:14:08 GMT"),
        (-1, "Wed, 31 Dec 1969 23:59:59 GMT"),
        (-86_400, "Wed, 31 Dec 1969 00:00:00 GMT"),
    ])
    func knownTimestamps(seconds: Int, expected: String) {
        #expect(HTTPDate.format(secondsSince1970: seconds) == expected)
    }

    @Test func agreesWithTheCLibraryAcrossCenturies() {
        var generator = SystemRandomNumberGenerator()
        var samples = (0..<5_000).map { _ in Int.random(in: 0...7_258_118_400, using: &generator) }
        samples += stride(from: 0, through: 7_258_118_400, by: 86_400 * 97).map { $0 }
        samples += [86_399, 86_400, 1_709_251_199, 1_709_251_200]
        for seconds in samples {
            let formatted = HTTPDate.format(secondsSince1970: seconds)
            let expected = cFormat(seconds)
            #expect(formatted == expected, "\(seconds)")
            if formatted != expected { break }
        }
    }

    /// strftime in the C locale gives English day and month names.
    private func cFormat(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = [CChar](repeating: 0, count: 64)
        let count = strftime(&text, text.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return String(decoding: text.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
