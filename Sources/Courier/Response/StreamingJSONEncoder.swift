import CourierHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes an `Encodable` straight into JSON bytes, with the output of Foundation's
/// `JSONEncoder` at its default settings (insertion order, `/` escaped, integral doubles without
/// a fraction). `Response.json` is on the hot path of JSON APIs, and the profile of the JSON
/// benchmark showed Foundation's encoder as the largest user-space cost; anything this encoder
/// does not handle exactly (dates, data, URLs, decimals, exponents, super-encoders) makes it
/// give up, and the caller falls back to `JSONEncoder`.
///
/// Each thread keeps one encoder and reuses it: allocating the encoder, its container stack and
/// a growing output array per response was a fifth of the JSON route's cost. Containers must not
/// outlive the `encode(to:)` call they were made in (Foundation's do not either).
final class StreamingJSONEncoder: Encoder {
    struct Unsupported: Error {}

    private struct Frame {
        let closer: UInt8
        var count = 0
    }

    /// A `ByteWriter`: JSON is many appends of a few bytes, ~100 instructions each to an array.
    // @exclusivity(unchecked): one encoder per encode call, on one thread; its properties are the
    // hot path of every JSON response (callgrind: a dozen checked accesses per request).
    @exclusivity(unchecked) private var output = ByteWriter(capacity: 256)
    @exclusivity(unchecked) private var frames: [Frame] = []
    @exclusivity(unchecked) private var levelStart = 0
    @exclusivity(unchecked) private var inUse = false
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// A larger scratch buffer is dropped after use rather than held by the thread.
    private static let retainedCapacity = 64 * 1024

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = threadEncoder()
        // A value whose encode(to:) itself encodes JSON gets an encoder of its own.
        if encoder.inUse { return try StreamingJSONEncoder().run(value) }
        return try encoder.run(value)
    }

    private func run<T: Encodable>(_ value: T) throws -> [UInt8] {
        inUse = true
        defer {
            inUse = false
            output.removeAll(retainedCapacity: Self.retainedCapacity)
            frames.removeAll(keepingCapacity: true)
            levelStart = 0
        }
        try encodeValue(value)
        return Array(output.bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// The calling thread's encoder, made on first use and released when the thread exits.
    private static func threadEncoder() -> StreamingJSONEncoder {
        let key = threadKey
        if let raw = pthread_getspecific(key) {
            return Unmanaged<StreamingJSONEncoder>.fromOpaque(raw).takeUnretainedValue()
        }
        let encoder = StreamingJSONEncoder()
        pthread_setspecific(key, Unmanaged.passRetained(encoder).toOpaque())
        return encoder
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let status = pthread_key_create(&key) { raw in
            if let raw { Unmanaged<StreamingJSONEncoder>.fromOpaque(raw).release() }
        }
        precondition(status == 0, "pthread_key_create failed: \(status)")
        return key
    }()

    func encodeValue<T: Encodable>(_ value: T) throws {
        // Metatype comparisons, not `as?` casts: a failed dynamic cast costs far more than the
        // write it guards, and every nested value passes through here.
        let type = T.self
        if type == String.self { return writeString(unsafeBitCast(value, to: String.self)) }
        if type == Int.self { return writeInteger(unsafeBitCast(value, to: Int.self)) }
        if type == Bool.self { return writeBool(unsafeBitCast(value, to: Bool.self)) }
        if type == Double.self { return try writeDouble(unsafeBitCast(value, to: Double.self)) }
        if type == Int64.self { return writeInteger(Int(unsafeBitCast(value, to: Int64.self))) }
        if type == Int32.self { return writeInteger(Int(unsafeBitCast(value, to: Int32.self))) }
        if type == UInt.self { return output.appendDecimal(unsafeBitCast(value, to: UInt.self)) }
        if type == UInt64.self { return output.appendDecimal(UInt(unsafeBitCast(value, to: UInt64.self))) }
        // Each standard integer must be here: one that reached `value.encode(to: self)` encodes
        // itself through the single-value container, which comes back here, and recursed until
        // the stack overflowed (a `[UInt8]` in a response took the process down).
        if type == UInt8.self { return writeInteger(Int(unsafeBitCast(value, to: UInt8.self))) }
        if type == Int8.self { return writeInteger(Int(unsafeBitCast(value, to: Int8.self))) }
        if type == UInt16.self { return writeInteger(Int(unsafeBitCast(value, to: UInt16.self))) }
        if type == Int16.self { return writeInteger(Int(unsafeBitCast(value, to: Int16.self))) }
        if type == UInt32.self { return writeInteger(Int(unsafeBitCast(value, to: UInt32.self))) }
        if type == Date.self || type == Data.self || type == URL.self || type == Decimal.self || type == Float.self {
            throw Unsupported()
        }
        let depth = frames.count
        let savedStart = levelStart
        let written = output.count
        levelStart = depth
        try value.encode(to: self)
        close(downTo: depth)
        levelStart = savedStart
        if output.count == written { writeLiteral("{}") }
    }

    func writeInteger(_ number: Int) { output.appendDecimal(number) }
    func writeBool(_ flag: Bool) { writeLiteral(flag ? "true" : "false") }

    func writeLiteral(_ text: StaticString) {
        output.append(staticText: text)
    }

    func writeDouble(_ number: Double) throws {
        guard number.isFinite else { throw Unsupported() }
        if number == number.rounded(), abs(number) < 1e15 {
            output.appendDecimal(Int(number))
            return
        }
        let text = number.description
        guard !text.contains("e") else { throw Unsupported() }
        output.append(text)
    }

    func writeString(_ text: String) { JSONString.append(text, to: &output) }

    /// Closes every container above `depth` (a sibling value is about to be written).
    fileprivate func close(downTo depth: Int) {
        while frames.count > depth { output.append(frames.removeLast().closer) }
    }

    /// Starts an element of the container at `index`: closes nested ones, adds the comma.
    fileprivate func beginElement(in index: Int) {
        close(downTo: index + 1)
        if frames[index].count > 0 { output.append(0x2C) }
        frames[index].count += 1
    }

    fileprivate func open(_ opener: UInt8, _ closer: UInt8) -> Int {
        output.append(opener)
        frames.append(Frame(closer: closer))
        return frames.count - 1
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let index = frames.count > levelStart ? levelStart : open(0x7B, 0x7D)
        return KeyedEncodingContainer(Keyed<Key>(encoder: self, index: index))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let index = frames.count > levelStart ? levelStart : open(0x5B, 0x5D)
        return Unkeyed(encoder: self, index: index)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { Single(encoder: self) }

    fileprivate func nested(keyed: Bool, in index: Int) -> Int {
        keyed ? open(0x7B, 0x7D) : open(0x5B, 0x5D)
    }

    private struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: StreamingJSONEncoder
        let index: Int
        var codingPath: [any CodingKey] { [] }

        private func key(_ key: Key) {
            encoder.beginElement(in: index)
            encoder.writeString(key.stringValue)
            encoder.output.append(0x3A)
        }

        mutating func encodeNil(forKey key: Key) throws {
            self.key(key)
            encoder.writeLiteral("null")
        }

        // The common scalars written directly: the protocol's defaults route them through the
        // generic `encode`, which costs a dynamic dispatch and the type tests in `encodeValue`.
        mutating func encode(_ value: String, forKey key: Key) throws {
            self.key(key)
            encoder.writeString(value)
        }

        mutating func encode(_ value: Int, forKey key: Key) throws {
            self.key(key)
            encoder.writeInteger(value)
        }

        mutating func encode(_ value: Bool, forKey key: Key) throws {
            self.key(key)
            encoder.writeBool(value)
        }

        mutating func encode(_ value: Double, forKey key: Key) throws {
            self.key(key)
            try encoder.writeDouble(value)
        }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            self.key(key)
            try encoder.encodeValue(value)
        }

        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws {
            guard let value else { return }
            try encode(value, forKey: key)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            self.key(key)
            return KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder, index: encoder.nested(keyed: true, in: index)))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            self.key(key)
            return Unkeyed(encoder: encoder, index: encoder.nested(keyed: false, in: index))
        }

        mutating func superEncoder() -> any Encoder { FailingEncoder() }
        mutating func superEncoder(forKey key: Key) -> any Encoder { FailingEncoder() }
    }

    private struct Unkeyed: UnkeyedEncodingContainer {
        let encoder: StreamingJSONEncoder
        let index: Int
        var codingPath: [any CodingKey] { [] }
        var count: Int { encoder.frames.indices.contains(index) ? encoder.frames[index].count : 0 }

        mutating func encodeNil() throws {
            encoder.beginElement(in: index)
            encoder.writeLiteral("null")
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            encoder.beginElement(in: index)
            try encoder.encodeValue(value)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            encoder.beginElement(in: index)
            return KeyedEncodingContainer(Keyed<NestedKey>(encoder: encoder, index: encoder.nested(keyed: true, in: index)))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            encoder.beginElement(in: index)
            return Unkeyed(encoder: encoder, index: encoder.nested(keyed: false, in: index))
        }

        mutating func superEncoder() -> any Encoder { FailingEncoder() }
    }

    private struct Single: SingleValueEncodingContainer {
        let encoder: StreamingJSONEncoder
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { encoder.writeLiteral("null") }
        mutating func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value) }
    }
}

/// Handed out for `superEncoder`: the streaming encoder cannot honour it, so encoding fails and
/// the caller falls back to Foundation.
private struct FailingEncoder: Encoder {
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Refusing<Key>())
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer { RefusingUnkeyed() }
    func singleValueContainer() -> any SingleValueEncodingContainer { RefusingSingle() }

    private struct Refusing<Key: CodingKey>: KeyedEncodingContainerProtocol {
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil(forKey key: Key) throws { throw StreamingJSONEncoder.Unsupported() }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { throw StreamingJSONEncoder.Unsupported() }
        mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            KeyedEncodingContainer(Refusing<N>())
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { RefusingUnkeyed() }
        mutating func superEncoder() -> any Encoder { FailingEncoder() }
        mutating func superEncoder(forKey key: Key) -> any Encoder { FailingEncoder() }
    }

    private struct RefusingUnkeyed: UnkeyedEncodingContainer {
        var codingPath: [any CodingKey] { [] }
        var count: Int { 0 }
        mutating func encodeNil() throws { throw StreamingJSONEncoder.Unsupported() }
        mutating func encode<T: Encodable>(_ value: T) throws { throw StreamingJSONEncoder.Unsupported() }
        mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<N> {
            KeyedEncodingContainer(Refusing<N>())
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { RefusingUnkeyed() }
        mutating func superEncoder() -> any Encoder { FailingEncoder() }
    }

    private struct RefusingSingle: SingleValueEncodingContainer {
        var codingPath: [any CodingKey] { [] }
        mutating func encodeNil() throws { throw StreamingJSONEncoder.Unsupported() }
        mutating func encode<T: Encodable>(_ value: T) throws { throw StreamingJSONEncoder.Unsupported() }
    }
}
