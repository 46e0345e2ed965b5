import Core
import Foundation
import Testing

/// Core's text helpers stand in for Foundation's so that hvctl needs only FoundationEssentials
/// (no ICU data); here Foundation itself says what they must give.
@Suite("Core's text helpers give what Foundation gives")
struct FoundationParityTests {
    static let paths = [
        "", "/", "//", "///", "/a", "/a/", "/a/b", "/a//b/", "a/b/c", "./a", "..", "../", "/a/b/../c",
        "/tmp/hvctl/run", "/run//hvctl///lock", "relative/dir/", "é/ü", "/x/.hidden",
    ]

    @Test("PathName splits as NSString's path methods do", arguments: paths)
    func pathName(_ path: String) {
        #expect(PathName.parent(of: path) == (path as NSString).deletingLastPathComponent)
        #expect(PathName.last(of: path) == (path as NSString).lastPathComponent)
    }

    /// Where this toolchain's NSString traps (one relative component), the documented answer.
    @Test("a bare name is its own last component, in the directory \"\"")
    func bareName() {
        for path in ["a", "a/", "a//", "é"] {
            #expect(PathName.parent(of: path) == "")
            #expect(PathName.last(of: path) == path.prefix { $0 != "/" }.description)
        }
    }

    static let texts = [
        "", " ", "\t", "\n", " \t\r\n", "a", " a ", "\ta b\t", "  key = value  \r\n", "\u{00A0}nbsp\u{3000}",
        "\u{2028}line\u{85}", "x\n", "\n x \n", "\r\nwin\r\n", "é ", " \u{301}a",
    ]

    @Test("trimming by scalar, as trimmingCharacters(in:)", arguments: texts)
    func trimming(_ text: String) {
        #expect(text.trimmingSpaces() == text.trimmingCharacters(in: .whitespaces))
        #expect(text.trimmingSpacesAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(text.trimmingScalars { $0 == "/" } == text.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
        #expect(Substring(text).trimmingSpaces() == text.trimmingCharacters(in: .whitespaces))
    }

    @Test("replacingEvery replaces as replacingOccurrences(of:with:)")
    func replacing() {
        let cases: [(String, String, String)] = [
            ("a\nb\n", "\n", "\n   "), ("a\r\nb", "\n", "\n   "), ("$HOME $$", "$", "$$"), ("<a & 'b'>", "&", "&amp;"),
            ("unit/with/slashes", "/", "_"), ("no match", "x", "y"), ("aaa", "aa", "b"), ("", "a", "b"), ("1 2  3", " ", ""),
        ]
        for (text, target, replacement) in cases {
            #expect(text.replacingEvery(target, with: replacement) == text.replacingOccurrences(of: target, with: replacement), "\(text)")
        }
    }

    @Test("padded(to:) pads and cuts as padding(toLength:withPad:startingAt:)")
    func padding() {
        for text in ["", "ok", "warn", "exactly8", "longer than eight", "é", "日本語"] {
            for width in [0, 3, 8, 14] {
                #expect(text.padded(to: width) == text.padding(toLength: width, withPad: " ", startingAt: 0), "\(text) \(width)")
            }
        }
    }

    @Test("fixed(_:) writes what String(format: \"%.Nf\") writes")
    func fixed() {
        for value in [0, 0.005, 0.125, 0.375, 1.05, 2.675, 9.995, 12.5, 1234.5678, -0.4, -1.25, 1e21, 1e300, .infinity, .nan] {
            #expect(value.fixed(1) == String(format: "%.1f", value), "\(value)")
            #expect(value.fixed(2) == String(format: "%.2f", value), "\(value)")
        }
    }
}
