/// Compares a secret without leaking, through timing, how much of it matched.
enum ConstantTime {
    static func equals<Given: Sequence>(_ given: Given, _ secret: String) -> Bool where Given.Element == UInt8 {
        let given = Array(given)
        let wanted = Array(secret.utf8)
        var difference = UInt8(given.count == wanted.count ? 0 : 1)
        for i in 0..<wanted.count { difference |= wanted[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }
}
