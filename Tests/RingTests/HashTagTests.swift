import Testing
@testable import Ring

@Suite struct HashTagTests {
    let tokenizer = KeyTokenizer(hash: .murmur, tag: HashTag("{}"))
    let plain = KeyTokenizer(hash: .murmur)

    func token(_ key: String, _ t: KeyTokenizer) -> UInt32 { t.token(of: Array(key.utf8)) }

    @Test func onlyTheTaggedPartIsHashed() {
        #expect(token("{user1000}.following", tokenizer) == token("user1000", plain))
        #expect(token("{user1000}.followers", tokenizer) == token("{user1000}.following", tokenizer))
        #expect(token("foo{bar}baz", tokenizer) == token("bar", plain))
    }

    @Test func firstOpenAndNextCloseWin() {
        #expect(token("a{b}{c}", tokenizer) == token("b", plain))
        #expect(token("a}{b}", tokenizer) == token("b", plain))
    }

    @Test func missingOrEmptyTagHashesTheWholeKey() {
        for key in ["plain", "{open", "close}", "{}", "a{}b", "}{"] {
            #expect(token(key, tokenizer) == token(key, plain), "\(key)")
        }
    }

    @Test func configFormNeedsTwoCharacters() {
        #expect(HashTag("{}") == HashTag(open: UInt8(ascii: "{"), close: UInt8(ascii: "}")))
        #expect(HashTag("{") == nil)
        #expect(HashTag("{}}") == nil)
    }
}
