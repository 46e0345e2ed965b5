import SystemPackage

extension Errno {
    /// The error of an sd-bus or sd-journal call, which returns `-errno` instead of setting it.
    init(returned negative: Int32) {
        self.init(rawValue: negative < 0 ? -negative : negative)
    }
}
