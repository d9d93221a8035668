import Engines
import NIOCore
import Testing
@testable import Server

/// The consistency arithmetic alone, with simulated answers (no network).
struct ResponseCollectorTests {
    final class Sink: ReplyReceiver {
        var replies: [String] = []
        /// A reply as its bytes; a failure (no reply: the client's connection words it) as
        /// `failed <cause>: <message>`.
        func receive(_ reply: Result<ByteBuffer, EngineError>, for sequence: Int) {
            switch reply {
            case .success(let bytes): replies.append(String(buffer: bytes))
            case .failure(let error): replies.append("failed \(error.cause): \(error.message)")
            }
        }
    }

    let ok = Result<ByteBuffer, EngineError>.success(ByteBuffer(string: "$1\r\na\r\n"))
    let other = Result<ByteBuffer, EngineError>.success(ByteBuffer(string: "$1\r\nb\r\n"))
    let third = Result<ByteBuffer, EngineError>.success(ByteBuffer(string: "$1\r\nc\r\n"))
    let down = Result<ByteBuffer, EngineError>.failure(EngineError("ERR Peer: Peer Node is not connected", cause: .peer))

    func run(_ rule: QuorumRule, racks: Int, _ answers: [(Int, Result<ByteBuffer, EngineError>)]) -> String? {
        let collector = ResponseCollector(rule: rule, groups: [0..<racks])
        let sink = Sink()
        #expect(collector.attach(sink, sequence: 0) == nil)
        for (index, answer) in answers { collector.receive(answer, for: index) }
        return sink.replies.first
    }

    @Test func quorumIsAMajorityOfAnyNumberOfRacks() {
        for racks in 1...7 {
            let needed = racks / 2 + 1
            let answers = (0..<needed).map { ($0, ok) }
            #expect(run(.quorum(safe: true), racks: racks, Array(answers.dropLast())) == nil || needed == 1, "\(racks) racks")
            #expect(run(.quorum(safe: true), racks: racks, answers) == "$1\r\na\r\n", "\(racks) racks")
        }
    }

    @Test func safeQuorumMismatchIsAnErrorLooseQuorumTakesTheMajorityOrTheFirst() {
        #expect(run(.quorum(safe: true), racks: 3, [(0, ok), (1, other), (2, third)]) == "failed peer: ERR Dynomite: Failed to achieve Quorum")
        #expect(run(.quorum(safe: false), racks: 3, [(0, other), (1, ok), (2, third)]) == "$1\r\nb\r\n")
        #expect(run(.quorum(safe: true), racks: 3, [(0, ok), (1, other), (2, ok)]) == "$1\r\na\r\n")
        // Safe quorum decided as soon as it cannot be reached: two racks disagree, one is down.
        #expect(run(.quorum(safe: true), racks: 3, [(0, ok), (2, down), (1, other)]) == "failed peer: ERR Dynomite: Failed to achieve Quorum")
    }

    @Test func tooFewAnswersNameTheCause() {
        #expect(run(.quorum(safe: false), racks: 3, [(1, down), (2, down)])
                == "failed peer: ERR Peer: Peer Node is not connected (1 of 3 replicas answered, 2 needed)")
        #expect(run(.quorum(safe: false), racks: 1, [(0, down)]) == "failed peer: ERR Peer: Peer Node is not connected")
    }

    @Test func aStorageFailureIsAMissingReplicaNotAnAnswer() {
        let refused = Result<ByteBuffer, EngineError>.failure(EngineError("ERR Storage: Datastore refused connection"))
        // The failure keeps the first failure's cause, so the client counts it as storage.
        #expect(run(.quorum(safe: false), racks: 2, [(0, refused), (1, ok)])
                == "failed storage: ERR Storage: Datastore refused connection (1 of 2 replicas answered, 2 needed)")
        #expect(run(.preferred, racks: 2, [(0, refused), (1, ok)]) == "$1\r\na\r\n")
        // A command's own error is an answer like any other.
        let wrongType = Result<ByteBuffer, EngineError>.success(ByteBuffer(string: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"))
        #expect(run(.quorum(safe: true), racks: 3, [(0, wrongType), (1, wrongType)])?.hasPrefix("-WRONGTYPE") == true)
    }

    @Test func preferredTakesTheFirstRackThenFailsOverInOrder() {
        #expect(run(.preferred, racks: 3, [(1, other), (0, ok)]) == "$1\r\na\r\n")
        #expect(run(.preferred, racks: 3, [(2, third), (0, down), (1, other)]) == "$1\r\nb\r\n")
        #expect(run(.preferred, racks: 2, [(0, down), (1, down)])?.hasPrefix("failed peer: ERR Peer: Peer Node is not connected") == true)
    }
}
