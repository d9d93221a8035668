import NIOCore
import Testing
@testable import Server

/// The reply queue without a channel: replies written at once, places for replies that come
/// later (a peer, a backend, a blocked pop) filled in any order, and what goes out when.
@Suite struct ReplyQueueTests {
    /// Drains and returns what was sent, as text, and the timings recorded.
    static func drain(_ queue: inout ReplyQueue, now: Int = 100, sendPlaces: Bool = true) -> (String, [ReplyQueue.Timing]) {
        var sent = ""
        var timings: [ReplyQueue.Timing] = []
        _ = queue.drain(now: now, sendPlaces: sendPlaces, send: { sent += String(buffer: $0) },
                        record: { reads, writes, since in timings.append(.init(start: since, reads: reads, writes: writes)) })
        return (sent, timings)
    }

    static func answer(_ queue: inout ReplyQueue, _ text: String, write: Bool = false, at time: Int = 0) {
        queue.ready.buffer.writeString(text)
        queue.answered(write: write)
        queue.keepOrder(readTime: time)
    }

    /// A pipeline of local answers and two places: the local answers behind a place wait for it,
    /// a later place filled first waits for the earlier one, and everything leaves in request order.
    @Test func repliesLeaveInRequestOrderWhateverOrderTheyArriveIn() {
        var queue = ReplyQueue(allocator: ByteBufferAllocator())
        queue.reading(at: 1)
        Self.answer(&queue, "+A\r\n", at: 1)
        let first = queue.nextSequence
        queue.expect(write: true, readTime: 1)  // a peer's answer
        Self.answer(&queue, "+B\r\n", at: 1)
        let second = queue.nextSequence
        #expect(second == first + 2)  // B holds a place of its own between them
        queue.expect(write: false, readTime: 1)  // a blocked pop
        Self.answer(&queue, "+C\r\n", at: 1)
        #expect(queue.placesHeld == 4)
        // Only A can go now.
        #expect(Self.drain(&queue).0 == "+A\r\n")
        #expect(queue.arrived(second, ByteBuffer(string: "+second\r\n")) == .waiting)
        #expect(Self.drain(&queue).0 == "")
        #expect(queue.arrived(first, ByteBuffer(string: "+first\r\n")) == .sendable)
        #expect(queue.firstArrived)
        #expect(Self.drain(&queue).0 == "+first\r\n+B\r\n+second\r\n+C\r\n")
        #expect(!queue.isWaiting && queue.placesHeld == 0)
        // A number already sent, or never given, is ignored.
        #expect(queue.arrived(first, ByteBuffer(string: "+late\r\n")) == .unknown)
        #expect(queue.arrived(queue.nextSequence + 5, ByteBuffer(string: "+never\r\n")) == .unknown)
        #expect(Self.drain(&queue).0 == "")
    }

    /// After a failed commit the places' replies (which acknowledge writes that did not happen)
    /// are dropped; the places are still released.
    @Test func afterAFailedCommitThePlacesRepliesAreDropped() {
        var queue = ReplyQueue(allocator: ByteBufferAllocator())
        let place = queue.nextSequence
        queue.expect(write: true, readTime: 0)
        #expect(queue.arrived(place, ByteBuffer(string: "+OK\r\n")) == .sendable)
        queue.ready.error("ERR Storage: commit failed")
        #expect(Self.drain(&queue, sendPlaces: false).0 == "-ERR Storage: commit failed\r\n")
        #expect(!queue.isWaiting)
    }

    /// Each reply's latency starts when its requests were read: replies buffered together are
    /// timed together; a place is timed from its own read.
    @Test func timingsFollowTheRepliesTheyMeasure() {
        var queue = ReplyQueue(allocator: ByteBufferAllocator())
        queue.reading(at: 10)
        Self.answer(&queue, "$1\r\nx\r\n", at: 10)
        Self.answer(&queue, "+OK\r\n", write: true, at: 10)
        let (sent, timings) = Self.drain(&queue, now: 50)
        #expect(sent == "$1\r\nx\r\n+OK\r\n")
        #expect(timings == [.init(start: 10, reads: 1, writes: 1)])
        // A read at 60 answered now, then a write at 70 answered later.
        queue.reading(at: 60)
        Self.answer(&queue, "$1\r\ny\r\n", at: 60)
        let place = queue.nextSequence
        queue.expect(write: true, readTime: 70)
        _ = queue.arrived(place, ByteBuffer(string: "+OK\r\n"))
        let (sent2, timings2) = Self.drain(&queue, now: 90)
        #expect(sent2 == "$1\r\ny\r\n+OK\r\n")
        #expect(timings2 == [.init(start: 60, reads: 1, writes: 0), .init(start: 70, reads: 0, writes: 1)])
    }
}
