import Glibc

/// sd-bus and sd-journal return negative errno values; this turns one into text.
func errnoText(_ negative: Int32) -> String {
    String(cString: strerror(negative < 0 ? -negative : negative))
}
