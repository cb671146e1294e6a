/// A growable byte buffer for the server's hot output paths (response heads, JSON bodies).
///
/// Appending a few bytes to an `[UInt8]` cost about 100 instructions under callgrind (a
/// uniqueness check and a generic copy through an iterator), and a response head or a small
/// JSON object is a dozen such appends; here an append is a capacity check and a copy, inlined
/// into the caller.
package struct ByteWriter: ~Copyable {
    @usableFromInline package var base: UnsafeMutableRawPointer
    @usableFromInline package var capacity: Int
    @usableFromInline package var count = 0

    package init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        base = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { base.deallocate() }

    @inlinable package var isEmpty: Bool { count == 0 }

    /// Valid until the next change to the writer.
    @inlinable package var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    @inlinable package mutating func append(_ byte: UInt8) {
        if count == capacity { grow(toHold: 1) }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inlinable package mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        if capacity - count < bytes.count { grow(toHold: bytes.count) }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inlinable package mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        append(UnsafeRawBufferPointer(bytes))
    }

    @inlinable package mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    @inlinable package mutating func append(staticText text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// A String's UTF-8 in one copy.
    @inlinable package mutating func append(_ text: String) {
        // The contiguous bytes without copying the string (`withUTF8` needs a mutable copy).
        if text.utf8.withContiguousStorageIfAvailable({ append(UnsafeRawBufferPointer($0)) }) != nil { return }
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// A signed number in decimal, digits written in place.
    package mutating func appendDecimal(_ value: Int) {
        if value < 0 { append(0x2D) }
        appendDecimal(value.magnitude)
    }

    /// A number in decimal, digits written in place.
    package mutating func appendDecimal(_ value: UInt) {
        let digits = DecimalText.digitCount(UInt64(value))
        if capacity - count < digits { grow(toHold: digits) }
        let (base, start) = (self.base, count)
        DecimalText.writeDigits(of: UInt64(value), count: digits) { base.storeBytes(of: $1, toByteOffset: start + $0, as: UInt8.self) }
        count += digits
    }

    /// Empties the writer; memory above `retainedCapacity` is given back.
    package mutating func removeAll(retainedCapacity: Int) {
        count = 0
        guard capacity > retainedCapacity else { return }
        base.deallocate()
        capacity = max(retainedCapacity, 16)
        base = .allocate(byteCount: capacity, alignment: 8)
    }

    @usableFromInline package mutating func grow(toHold extra: Int) {
        let newCapacity = max(capacity * 2, count + extra)
        let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 8)
        newBase.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }
}
