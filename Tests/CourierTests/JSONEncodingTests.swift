import Courier
import Foundation
import Testing

/// `response.json` writes JSON without Foundation's encoder where it can; what it writes must
/// mean exactly what `JSONEncoder` writes (Foundation's key order is a hash order, so the
/// comparison is of the parsed values), and keys come in declaration order.
@Suite struct JSONEncodingTests {
    enum Mood: String, Codable { case happy, sad }

    struct Inner: Codable, Equatable {
        let values: [Int]
        let label: String?
    }

    struct Everything: Codable {
        let text: String
        let escaped: String
        let number: Int
        let negative: Int64
        let fraction: Double
        let whole: Double
        let flag: Bool
        let missing: String?
        let present: String?
        let mood: Mood
        let inner: Inner
        let list: [Inner]
        let empty: [String]
        let map: [String: Int]
        let nested: [[Double]]
    }

    struct Stamped: Codable {
        let at: Date
        let blob: Data
    }

    private func expectSameAsFoundation<T: Encodable>(_ value: T) throws {
        var response = Response()
        try response.json(value)
        let expected = Array(try JSONEncoder().encode(value))
        let ours = try JSONSerialization.jsonObject(with: Data(response.body), options: .fragmentsAllowed) as! NSObject
        let theirs = try JSONSerialization.jsonObject(with: Data(expected), options: .fragmentsAllowed) as! NSObject
        #expect(ours.isEqual(theirs), "\(String(decoding: response.body, as: UTF8.self)) differs from \(String(decoding: expected, as: UTF8.self))")
        #expect(response.contentType == "application/json")
    }

    @Test func structsOptionalsEnumsAndCollections() throws {
        try expectSameAsFoundation(Everything(
            text: "Hello, World!", escaped: "quote\" back\\ slash/ nl\n tab\t bell\u{07} é ☃",
            number: 42, negative: -7, fraction: 0.1, whole: 3, flag: true, missing: nil, present: "here",
            mood: .sad, inner: Inner(values: [1, 2, 3], label: nil),
            list: [Inner(values: [], label: "a"), Inner(values: [9], label: "b")], empty: [],
            map: ["only": 1], nested: [[1.5, 2], []]))
    }

    @Test func keysFollowDeclarationOrder() throws {
        var response = Response()
        try response.json(Inner(values: [1], label: "x"))
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"values":[1],"label":"x"}"#)
    }

    @Test func topLevelValues() throws {
        try expectSameAsFoundation(["a", "b/c"])
        try expectSameAsFoundation("plain")
        try expectSameAsFoundation(12)
        try expectSameAsFoundation([String: String]())
        try expectSameAsFoundation(Optional<Int>.none)
    }

    @Test func unsupportedTypesFallBackToFoundation() throws {
        try expectSameAsFoundation(Stamped(at: Date(timeIntervalSince1970: 1_000), blob: Data([1, 2, 3])))
        try expectSameAsFoundation([1e-7, 1e300])
    }

    /// Every standard integer type, bytes of an upload among them: each once recursed without end.
    struct Integers: Codable {
        let u8: UInt8, i8: Int8, u16: UInt16, i16: Int16, u32: UInt32, i32: Int32, u64: UInt64, i64: Int64, u: UInt
        let bytes: [UInt8]
    }

    @Test func everyIntegerType() throws {
        try expectSameAsFoundation(Integers(u8: 255, i8: -128, u16: 65_535, i16: -32_768, u32: 4_294_967_295, i32: -2_147_483_648,
                                            u64: 18_446_744_073_709_551_615, i64: .min, u: 7, bytes: [0, 1, 254, 255]))
        try expectSameAsFoundation([UInt8](repeating: 9, count: 100_000))
    }
}
