import NIOCore
import Protocol
import Testing

/// The one reply view: every RESP2 and RESP3 shape read without copying, nested aggregates cut
/// into their elements, and only a whole single reply accepted by `validating`.
@Suite struct RESPTokenTests {
    func token(_ text: String) -> RESPToken? { RESPToken(validating: ByteBuffer(string: text)) }

    @Test func scalars() {
        #expect(token("+OK\r\n")?.simpleText == "OK")
        #expect(token("-ERR no\r\n")?.errorText == "ERR no")
        #expect(token("!5\r\nERR x\r\n")?.errorText == "ERR x")
        #expect(token(":-42\r\n")?.integer == -42)
        #expect(token("$5\r\nhe\r\no\r\n")?.bulk == ByteBuffer(string: "he\r\no"))
        #expect(token("$0\r\n\r\n")?.bulkText == "")
        #expect(token("$-1\r\n")?.isNull == true && token("$-1\r\n")?.bulk == nil)
        #expect(token("*-1\r\n")?.isNull == true && token("*-1\r\n")?.elements == nil)
        #expect(token("_\r\n")?.isNull == true)
        // Accessors of another type answer nil.
        #expect(token(":1\r\n")?.bulk == nil && token("$1\r\n1\r\n")?.integer == nil && token("+OK\r\n")?.errorText == nil)
    }

    @Test func aggregates() {
        let nested = token("*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n~1\r\n+x\r\n")
        let elements = nested?.elements
        #expect(elements?.count == 3)
        #expect(elements?[0].bulkText == "a")
        #expect(elements?[1].elements?.map(\.integer) == [1, nil])
        #expect(elements?[1].elements?[1].isNull == true)
        #expect(elements?[2].elements?.first?.simpleText == "x")
        // A map's elements are its keys and values in turn.
        #expect(token("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n")?.elements?.map { $0.simpleText ?? String($0.integer ?? -1) } == ["a", "1", "b", "2"])
        #expect(token("*0\r\n")?.elements?.isEmpty == true)
        // Each element's bytes are exactly its own reply.
        #expect(elements?[1].base == ByteBuffer(string: "*2\r\n:1\r\n$-1\r\n"))
    }

    @Test func onlyOneWholeReplyValidates() {
        #expect(token("$5\r\nabc\r\n") == nil)          // short
        #expect(token("+OK\r\n+OK\r\n") == nil)         // two replies
        #expect(token("*2\r\n:1\r\n") == nil)           // an element missing
        #expect(token("?x\r\n") == nil)                 // no such type
        #expect(token("") == nil)
    }
}
