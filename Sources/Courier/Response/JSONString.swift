import CourierHTTP

/// A String as a JSON string literal (RFC 8259 §7), quotes included: the one writer behind
/// `Response.json` and the channel's frames. Runs of bytes that need no escape are copied at
/// once.
package enum JSONString {
    package static func append(_ text: String, to output: inout ByteWriter) {
        // The contiguous bytes without copying the string (`withUTF8` needs a mutable copy).
        if text.utf8.withContiguousStorageIfAvailable({ append(utf8: $0, to: &output) }) != nil { return }
        var text = text
        text.withUTF8 { append(utf8: $0, to: &output) }
    }

    private static func append(utf8: UnsafeBufferPointer<UInt8>, to output: inout ByteWriter) {
        output.append(0x22)
        var runStart = 0
        while true {
            let index = ByteScan.firstJSONEscape(in: utf8, from: runStart)
            output.append(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
            guard index < utf8.count else { break }
            runStart = index + 1
            let byte = utf8[index]
            output.append(0x5C)
            switch byte {
            case 0x22, 0x5C, 0x2F: output.append(byte)
            case 0x0A: output.append(0x6E)
            case 0x0D: output.append(0x72)
            case 0x09: output.append(0x74)
            case 0x08: output.append(0x62)
            case 0x0C: output.append(0x66)
            default:
                let hex: StaticString = "0123456789abcdef"
                output.append(staticText: "u00")
                output.append(hex.utf8Start[Int(byte >> 4)])
                output.append(hex.utf8Start[Int(byte & 0xF)])
            }
        }
        output.append(0x22)
    }
}
