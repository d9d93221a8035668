import Engines
import NIOCore
import Testing
@testable import Server

/// The connection's MULTI state alone (the replies around it are checked against redis-server
/// by the transaction differential tests).
struct TransactionQueueTests {
    static func answered(_ text: String) -> QueuedCommand { .answered(ByteBuffer(string: text)) }

    static func texts(_ ending: TransactionQueue.Ending) -> [String]? {
        guard case .run(let commands) = ending else { return nil }
        return commands.map { command in
            if case .answered(let bytes) = command { return String(buffer: bytes) }
            return "engine"
        }
    }

    @Test func queuesInOrderUntilExec() {
        var queue = TransactionQueue.none
        let opened = queue.begin()
        let nested = queue.begin()
        #expect(opened && !nested && queue.isOpen)
        queue.append(Self.answered("+a\r\n"))
        queue.append(Self.answered("+b\r\n"))
        let ending = queue.end()
        #expect(Self.texts(ending) == ["+a\r\n", "+b\r\n"])
        #expect(!queue.isOpen)
        let again = queue.end()
        guard case .notOpen = again else { Issue.record("EXEC twice ran \(again)"); return }
    }

    @Test func aRefusalWhileQueueingDoomsTheTransactionOnly() {
        var queue = TransactionQueue.none
        queue.doom()  // outside MULTI a refusal changes nothing
        queue.append(Self.answered("+ignored\r\n"))
        #expect(!queue.isOpen)
        _ = queue.begin()
        queue.append(Self.answered("+a\r\n"))
        queue.doom()
        queue.append(Self.answered("+b\r\n"))  // Redis keeps queueing after the error
        let ending = queue.end()
        guard case .doomed = ending else { Issue.record("a doomed transaction ended as \(ending)"); return }
        // The next transaction starts clean.
        _ = queue.begin()
        let clean = queue.end()
        #expect(Self.texts(clean) == [])
    }
}
