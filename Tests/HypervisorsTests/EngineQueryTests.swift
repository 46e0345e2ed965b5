import Foundation
@testable import Hypervisors
import Testing

/// The Engine API's query parts, built without Foundation's JSONSerialization, CharacterSet
/// and NSRegularExpression; the same as those give.
@Suite("Engine API queries, as Foundation would write them")
struct EngineQueryTests {
    static let texts = ["", "web", "hvctl-test_1.2", "a b/c?d=e&f", "ünï códe", "日本", "emoji 🚀", "~-._", "100%", "+", "\"quoted\""]

    @Test("percent-encoding keeps ASCII letters, digits and -._~", arguments: texts)
    func percentEncoding(_ text: String) {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        #expect(EngineClient.percentEncoded(text) == text.addingPercentEncoding(withAllowedCharacters: allowed))
    }

    @Test("a name as a regular expression that matches only itself", arguments: texts + ["a.b*c", #"x\y"#, "(g)[h]{i}^$|+?/"])
    func escapedPattern(_ text: String) {
        #expect(EngineClient.escapedPattern(text) == NSRegularExpression.escapedPattern(for: text))
    }

    @Test("filters JSON, keys sorted, as JSONSerialization writes it")
    func filters() throws {
        for object in [[:], ["label": ["hvctl.run=1", "a/b"]], ["name": ["^/?web$"], "label": ["x=\"y\""]]] as [[String: [String]]] {
            let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            let expected = "filters=" + EngineClient.percentEncoded(String(decoding: json, as: UTF8.self))
            #expect(EngineClient.filters(object) == expected)
        }
        #expect(EngineClient.labelFilter([]) == "filters=%7B%7D")
    }
}
