import Testing
@testable import Server

/// The connection's flow rules alone: when the next request runs, when reading stops and
/// resumes, and what closing ends (the handler performs the actions; see
/// `ClientConnectionHandlerTests` for the same rules over a channel).
struct ConnectionFlowTests {
    typealias Flow = ConnectionFlow
    let limit = ConnectionFlow.maxRepliesInFlight

    /// `mayRunNext` as one comparable value.
    struct Next: Equatable {
        let run: Bool
        let action: Flow.Action
    }

    static func next(_ flow: inout Flow, placesHeld: Int) -> Next {
        let (run, action) = flow.mayRunNext(placesHeld: placesHeld)
        return Next(run: run, action: action)
    }

    @Test func backpressureStopsReadingAtTheLimitAndResumesBelowHalf() {
        var flow = Flow()
        let free = Self.next(&flow, placesHeld: limit - 1)
        #expect(free == Next(run: true, action: .none))
        let atLimit = Self.next(&flow, placesHeld: limit)
        #expect(atLimit == Next(run: false, action: .stopReading))
        #expect(flow.state == .full && flow.readsStopped)
        // Input that was already on its way waits, even with a place free again.
        let early = Self.next(&flow, placesHeld: limit - 1)
        #expect(early == Next(run: false, action: .none))
        let half = flow.repliesDrained(placesHeld: limit / 2)
        #expect(half == .none)
        let belowHalf = flow.repliesDrained(placesHeld: limit / 2 - 1)
        #expect(belowHalf == .resume)
        #expect(flow.state == .running && !flow.readsStopped)
        let again = flow.repliesDrained(placesHeld: 0)
        #expect(again == .none)  // resumed once
    }

    @Test func aBlockedCommandHoldsWhatFollowsUntilItsOwnReply() {
        var flow = Flow()
        flow.blocked(on: 7)
        let behind = Self.next(&flow, placesHeld: 0)
        #expect(behind == Next(run: false, action: .none))
        #expect(!flow.readsStopped)  // input is still read, and waits
        #expect(!flow.mayTimeOut)  // Redis does not time blocked clients out
        let other = flow.replyArrived(6)
        #expect(!other)
        #expect(flow.state == .blocked(sequence: 7))
        let own = flow.replyArrived(7)
        #expect(own)
        let after = Self.next(&flow, placesHeld: 0)
        #expect(after == Next(run: true, action: .none))
        let duplicate = flow.replyArrived(7)
        #expect(!duplicate)  // a late duplicate changes nothing
    }

    @Test func clientPauseHoldsTheCommandUntilItsCheckAndTheRepliesAllow() {
        var flow = Flow()
        let hold = flow.holdForPause()
        #expect(hold == .stopReading)
        let held = Self.next(&flow, placesHeld: 0)
        #expect(held == Next(run: false, action: .none))
        // Arriving replies do not release a held command: only the pause's check does.
        let drained = flow.repliesDrained(placesHeld: 0)
        #expect(drained == .none)
        #expect(flow.state == .heldByPause && flow.mayTimeOut)
        let check = flow.pauseCheckDue(placesHeld: 0)
        #expect(check == .resume)
        #expect(flow.state == .running)
        // At the check with too many replies on their way, backpressure takes over.
        let holdAgain = flow.holdForPause()
        #expect(holdAgain == .stopReading)
        let busyCheck = flow.pauseCheckDue(placesHeld: limit)
        #expect(busyCheck == .none)
        #expect(flow.state == .full)
        let later = flow.repliesDrained(placesHeld: 0)
        #expect(later == .resume)
    }

    @Test(arguments: ["running", "blocked", "full", "held"])
    func closingEndsEverythingOnce(from start: String) {
        var flow = Flow()
        switch start {
        case "blocked": flow.blocked(on: 1)
        case "full": _ = flow.mayRunNext(placesHeld: limit)
        case "held": _ = flow.holdForPause()
        default: break
        }
        let first = flow.close()
        let second = flow.close()
        #expect(first && !second)  // a second cause is not logged or counted again
        #expect(flow.isClosing && !flow.mayTimeOut)
        let next = Self.next(&flow, placesHeld: 0)
        #expect(next == Next(run: false, action: .none))
        let unblocked = flow.replyArrived(1)
        let drained = flow.repliesDrained(placesHeld: 0)
        let checked = flow.pauseCheckDue(placesHeld: 0)
        let held = flow.holdForPause()
        #expect(!unblocked && drained == .none && checked == .none && held == .none)
        #expect(flow.state == .closing)
    }
}
