import CourierHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The Date header, formatted at most once a second per loop.
struct DateCache {
    private var second = -1
    private(set) var headerLine: [UInt8] = []

    mutating func current() -> [UInt8] {
        let now = Int(time(nil))
        if now != second {
            second = now
            headerLine = Array("Date: \(HTTPDate.format(secondsSince1970: now))\r\n".utf8)
        }
        return headerLine
    }
}
