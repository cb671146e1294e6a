import CourierHTTP
import Foundation
import Testing

/// Courier's request parser held against llhttp, Node's parser, over the FuzzHTTPParser corpus:
/// a second, widely deployed reading of RFC 9112. Where they differ, either the difference is
/// listed with the RFC's reason (LLHTTPKnownDisagreements) or Courier is wrong and the test fails,
/// showing the input and both outcomes. llhttp's decisions are recorded in
/// Tests/fuzz/llhttp-decisions.json by `make llhttp-decisions` (scripts/llhttp-decisions.js).
/// `LLHTTP_DIFF_SUMMARY=1` prints how the corpus divided (agreements, limits, classes).
@Suite struct LLHTTPDifferentialTests {
    /// Fewer inputs than this means the corpus or the record went missing, not that all is well.
    static let minimumInputs = 130

    @Test func theRecordCoversTheWholeCorpus() throws {
        let record = try LLHTTPDecisions.load()
        let corpus = try CorpusInput.all()
        #expect(corpus.count >= Self.minimumInputs)
        #expect(!record.llhttp.isEmpty && !record.node.isEmpty)
        #expect(record.lenientFlags == 0, "llhttp must be driven strict, with no lenient flags")
        let recorded = Dictionary(record.inputs.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(recorded.count == record.inputs.count, "an input is recorded twice")
        for input in corpus {
            guard let entry = recorded[input.name] else {
                Issue.record("\(input.name) has no llhttp decision: run `make llhttp-decisions`")
                continue
            }
            #expect(Data(base64Encoded: entry.payload).map(Array.init) == input.payload,
                    "\(input.name) changed since llhttp's decision was recorded: run `make llhttp-decisions`")
            #expect(entry.limits == input.limitsChoice, "\(input.name): limits choice differs from the corpus")
        }
        let missing = Set(recorded.keys).subtracting(corpus.map(\.name))
        #expect(missing.isEmpty, "recorded but not in the corpus: \(missing.sorted())")
    }

    @Test func everyDisagreementIsExplained() throws {
        let record = try LLHTTPDecisions.load()
        let recorded = Dictionary(record.inputs.map { ($0.name, $0.llhttp) }, uniquingKeysWith: { first, _ in first })
        let corpus = try CorpusInput.all()
        var tally = Tally()
        for input in corpus {
            guard let llhttpOutcome = recorded[input.name] else { continue }  // reported by theRecordCoversTheWholeCorpus
            let llhttp = ComparedOutcome(llhttp: llhttpOutcome)
            let upgradeAfter = llhttp.decision == .upgrade ? llhttp.requests.count : nil
            let courier = ComparedOutcome(courier: parse(input.payload, limits: input.limits), upgradeAfter: upgradeAfter)
            let atLimit = LLHTTPKnownDisagreements.isCourierLimit(courier)
            let found = differences(courier: courier, llhttp: llhttp, courierStoppedAtLimit: atLimit)
            let known = LLHTTPKnownDisagreements.inputs[input.name]
            let report = """
                \(input.name): "\(input.payload.escaped())" (limits choice \(input.limitsChoice))
                  Courier: \(courier)
                  llhttp \(record.llhttp): \(llhttp)
                  differences: \(found.isEmpty ? "none" : found.joined(separator: "; "))
                """
            switch (found.isEmpty, known) {
            case (true, nil):
                if atLimit { tally.limited += 1 } else { tally.agreed += 1 }
            case (true, let known?):
                Issue.record("listed as \(known) but Courier and llhttp now agree: remove it from the table\n\(report)")
            case (false, nil):
                Issue.record("an unexplained disagreement with llhttp: fix the parser or list it with its RFC reason\n\(report)")
            case (false, let known?):
                if known.courierSide.describes(courier: courier, llhttp: llhttp) {
                    tally.explained[known, default: 0] += 1
                } else {
                    Issue.record("listed as \(known) (Courier \(known.courierSide): \(known.reason)) but Courier now does otherwise\n\(report)")
                }
            }
        }
        #expect(tally.total == corpus.count)
        #expect(tally.total >= Self.minimumInputs)
        let unknownNames = Set(LLHTTPKnownDisagreements.inputs.keys).subtracting(corpus.map(\.name))
        #expect(unknownNames.isEmpty, "the table names inputs not in the corpus: \(unknownNames.sorted())")
        let unusedClasses = KnownDisagreement.allCases.filter { !LLHTTPKnownDisagreements.inputs.values.contains($0) }
        #expect(unusedClasses.isEmpty, "classes no input shows: \(unusedClasses)")
        if ProcessInfo.processInfo.environment["LLHTTP_DIFF_SUMMARY"] != nil { print(tally) }
    }

    /// A reason is the RFC's word, not an excuse: each names the section it rests on.
    @Test(arguments: KnownDisagreement.allCases)
    func everyReasonCitesItsSection(_ disagreement: KnownDisagreement) {
        #expect(disagreement.reason.contains("RFC") && disagreement.reason.contains("§"), "\(disagreement): \(disagreement.reason)")
    }

    /// The comparison itself must see a difference: one changed header value, one request more,
    /// a refusal instead of an acceptance.
    @Test func theComparisonNoticesADifferentHead() throws {
        let courier = ComparedOutcome(courier: parse(request("GET / HTTP/1.1", "Host: a", "X: 1")), upgradeAfter: nil)
        #expect(differences(courier: courier, llhttp: courier).isEmpty)
        var changedValue = courier
        changedValue.requests[0].fields[1].value = "2"
        #expect(differences(courier: courier, llhttp: changedValue).count == 1)
        var oneMore = courier
        oneMore.requests.append(courier.requests[0])
        #expect(!differences(courier: courier, llhttp: oneMore).isEmpty)
        var refused = courier
        refused.decision = .reject
        refused.requests = []
        #expect(differences(courier: courier, llhttp: refused).count == 2)
    }

    /// llhttp's absolute-form URL is compared as the origin-form Courier hands to the application.
    @Test func anAbsoluteTargetIsComparedAsItsPathAndQuery() throws {
        let record = try LLHTTPDecisions.load()
        let absolute = try #require(record.inputs.first { $0.name == "target-absolute-query-only" })
        #expect(absolute.llhttp.requests.first?.target == "http://a?q=1")
        #expect(ComparedOutcome(llhttp: absolute.llhttp).requests.first?.target == "/?q=1")
    }
}

/// How the corpus divided: agreements, refusals at Courier's limits, and explained disagreements by class.
private struct Tally: CustomStringConvertible {
    var agreed = 0
    var limited = 0
    var explained: [KnownDisagreement: Int] = [:]

    var total: Int { agreed + limited + explained.values.reduce(0, +) }

    var description: String {
        let classes = explained.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key): \($0.value)" }
        return "llhttp differential: \(total) inputs, \(agreed) agree, \(limited) at Courier's limits, "
            + "\(explained.values.reduce(0, +)) explained (\(classes.joined(separator: ", ")))"
    }
}
