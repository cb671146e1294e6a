/// Header fields in the order received, names compared case-insensitively (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    /// One header field: the name as spelled by the sender and its value.
    public struct Field: Sendable, Equatable {
        /// The field name as sent; compare it through `HTTPHeaders`, which ignores case.
        public var name: String
        /// The field value; a comma-separated list is left as one string.
        public var value: String
        /// A field as given; neither part is validated.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// Every field in order, repeated names included; change them through `add`, `set` and `remove`.
    public private(set) var fields: [Field]

    /// No fields.
    public init() { fields = [] }
    /// Fields from (name, value) pairs, kept in order; a repeated name stays repeated.
    public init(_ pairs: [(String, String)]) { fields = pairs.map { Field(name: $0.0, value: $0.1) } }
    /// Fields from a literal such as `["Content-Type": "text/plain"]`, in order; repeated names are kept, not merged.
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    /// The number of fields, counting each repeat of a name.
    public var count: Int { fields.count }
    /// Iterates the fields in order, repeats included.
    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// The first value of `name`, or nil.
    public subscript(name: String) -> String? {
        for index in fields.indices where Self.equalNames(fields[index].name, name) { return fields[index].value }
        return nil
    }

    /// Every value of `name` in order (case-insensitive), or [] when absent. Values are not split on commas.
    public func values(_ name: String) -> [String] {
        fields.filter { Self.equalNames($0.name, name) }.map(\.value)
    }

    /// True when at least one field is named `name`, compared case-insensitively.
    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// True when a comma-separated header (Connection, Upgrade, ...) lists `token`.
    public func containsToken(_ token: String, in name: String) -> Bool {
        for field in fields where Self.equalNames(field.name, name) {
            if Self.listsToken(token, in: field.value) { return true }
        }
        return false
    }

    /// True when the comma-separated `value` lists `token`.
    static func listsToken(_ token: String, in value: String) -> Bool {
        for part in value.split(separator: ",") where equalNames(part.trimmingSpaces, token) { return true }
        return false
    }

    /// Appends a field, keeping any earlier values of `name` (use `set` to replace them).
    public mutating func add(_ name: String, _ value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// Sets `name` to one `value`, removing any earlier values.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append(Field(name: name, value: value))
    }

    /// Removes every field named `name` (case-insensitive); does nothing, and copies nothing, when there is none.
    public mutating func remove(_ name: String) {
        // Checked first: removeAll makes the (usually shared) array unique even when nothing goes.
        guard fields.contains(where: { Self.equalNames($0.name, name) }) else { return }
        fields.removeAll { Self.equalNames($0.name, name) }
    }

    mutating func append(_ field: Field) { fields.append(field) }

    /// One `name: value` line per field, for logs and debugging; not a wire encoding.
    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    /// Names as the server and apps spell them usually match exactly, and two equal small
    /// strings are equal bit for bit: that test first, before the case-insensitive comparison.
    static func equalNames(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        if a == b { return true }
        return equalNames(a[...], b[...])
    }

    static func equalNames<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y in equalBytes(x, y) }
        }
        if let fast, let result = fast { return result }
        return equalBytes(Array(a.utf8)[...], Array(b.utf8)[...])
    }

    /// ASCII case-insensitive comparison of equal-length byte runs.
    private static func equalBytes<C: RandomAccessCollection>(_ x: C, _ y: C) -> Bool where C.Element == UInt8, C.Index == Int {
        var i = x.startIndex, j = y.startIndex
        while i < x.endIndex {
            let p = x[i], q = y[j]
            if p != q {
                let lower = p | 0x20
                guard lower == q | 0x20, lower >= 0x61, lower <= 0x7A else { return false }
            }
            i += 1
            j += 1
        }
        return true
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let first = s.first, first == " " || first == "\t" { s.removeFirst() }
        while let last = s.last, last == " " || last == "\t" { s.removeLast() }
        return s
    }
}
