import NIOCore
import Protocol

/// A connection's replies in request order. A reply the node writes at once goes to `ready`; a
/// reply that comes later (a peer, a backend, a blocked pop) holds a numbered place, and every
/// reply after it waits behind it. It also keeps when each reply's requests were read, for the
/// latency histograms. Plain state with mutating methods, tested without a channel
/// (`ReplyQueueTests`); the connection handler performs what they return.
struct ReplyQueue {
    /// Replies ready to send, ahead of every place in `later`.
    var ready: ReplyWriter
    /// The places after the first reply not produced yet, in request order; nil until it arrives.
    private var later = CircularBuffer<ByteBuffer?>()
    /// The sequence number of `later`'s first place.
    private var base = 0
    /// For each place: when its requests were read and how many reads and writes it answers.
    private var timing = CircularBuffer<Timing>()
    /// Replies in `ready` not yet timed, by class, and when the oldest of them was read.
    private var bufferedReads: Int32 = 0
    private var bufferedWrites: Int32 = 0
    private var bufferedSince = 0
    /// How many of `ready`'s bytes (and replies) precede `later`: those written before its first
    /// place. Bytes after them answer later requests and must queue behind it.
    private var precedingBytes = 0
    private var precedingReads: Int32 = 0
    private var precedingWrites: Int32 = 0
    private let allocator: ByteBufferAllocator

    /// When one place's requests were read, and how many reads and writes it answers.
    struct Timing: Equatable {
        var start: Int
        var reads: Int32
        var writes: Int32
    }

    /// What an arriving reply did.
    enum Arrival: Equatable {
        /// No place has that number (already sent, or never given).
        case unknown
        /// Stored; an earlier place is still empty.
        case waiting
        /// It filled the first place: replies can go out.
        case sendable
    }

    init(allocator: ByteBufferAllocator, resp3: Bool = false) {
        self.allocator = allocator
        ready = ReplyWriter(buffer: allocator.buffer(capacity: 4096), resp3: resp3)
    }

    /// The number the next place will get (a reply the engine or coordinator answers later).
    @inline(__always) var nextSequence: Int { base + later.count }
    /// Places still holding replies back (backpressure reads this).
    var placesHeld: Int { later.count }
    /// Whether any reply is still on its way.
    var isWaiting: Bool { !later.isEmpty }
    /// Whether the first place is filled (its reply and those behind it can go out).
    var firstArrived: Bool { later.first.map { $0 != nil } == true }

    /// Requests are read at `time`: with nothing buffered, the next replies' clock starts now.
    @inline(__always)
    mutating func reading(at time: Int) {
        if bufferedReads == 0, bufferedWrites == 0 { bufferedSince = time }
    }

    /// A reply to a read or a write was just written to `ready` (timed; errors are not).
    @inline(__always)
    mutating func answered(write: Bool) {
        if write { bufferedWrites += 1 } else { bufferedReads += 1 }
    }

    /// Replies just written behind a place still empty must wait their turn: they become a place
    /// of their own.
    @inline(__always)
    mutating func keepOrder(readTime: Int) {
        // Every reply passes here: the common case (nothing on its way) is one comparison.
        guard !later.isEmpty, ready.buffer.readableBytes > precedingBytes else { return }
        queueBehind(readTime: readTime)
    }

    private mutating func queueBehind(readTime: Int) {
        let behind = ready.buffer.getSlice(at: ready.buffer.readerIndex + precedingBytes,
                                           length: ready.buffer.readableBytes - precedingBytes)!
        if precedingBytes == 0 {
            ready.buffer = allocator.buffer(capacity: 256)
        } else {
            ready.buffer.moveWriterIndex(to: ready.buffer.readerIndex + precedingBytes)
        }
        later.append(behind)
        timing.append(Timing(start: bufferedSince, reads: bufferedReads, writes: bufferedWrites))
        bufferedReads = 0
        bufferedWrites = 0
        bufferedSince = readTime
    }

    /// Holds a place for a reply that comes later; replies already in `ready` go out before it.
    mutating func expect(write: Bool, readTime: Int) {
        if later.isEmpty {
            precedingBytes = ready.buffer.readableBytes
            precedingReads = bufferedReads
            precedingWrites = bufferedWrites
            bufferedReads = 0
            bufferedWrites = 0
        } else {
            keepOrder(readTime: readTime)
        }
        later.append(nil)
        timing.append(Timing(start: readTime, reads: write ? 0 : 1, writes: write ? 1 : 0))
    }

    /// The reply for place `sequence` arrived.
    @inline(__always)
    mutating func arrived(_ sequence: Int, _ bytes: ByteBuffer) -> Arrival {
        let index = sequence - base
        guard index >= 0, index < later.count else { return .unknown }
        later[later.index(later.startIndex, offsetBy: index)] = bytes
        return index == 0 ? .sendable : .waiting
    }

    /// Hands every reply that can go out, in order, to `send` (the places' replies only when
    /// `sendPlaces`: after a failed commit none of them may go out), and each sent reply's timing
    /// to `record` (reads, writes, read at). Returns whether anything was sent.
    mutating func drain(now: Int, sendPlaces: Bool, send: (ByteBuffer) -> Void,
                        record: (_ reads: Int32, _ writes: Int32, _ since: Int) -> Void) -> Bool {
        var sent = false
        if precedingReads + precedingWrites > 0 { record(precedingReads, precedingWrites, bufferedSince) }
        if later.isEmpty, bufferedReads + bufferedWrites > 0 {
            record(bufferedReads, bufferedWrites, bufferedSince)
            bufferedReads = 0
            bufferedWrites = 0
        }
        precedingBytes = 0
        precedingReads = 0
        precedingWrites = 0
        if later.isEmpty { bufferedSince = now }
        if ready.buffer.readableBytes > 0 {
            send(ready.buffer)
            // NIO usually writes small replies at once and lets go of the buffer, so clearing
            // it reuses the same storage; if a write is still pending, this copies on write.
            ready.buffer.clear()
            sent = true
        }
        while let first = later.first, let bytes = first {
            later.removeFirst()
            let t = timing.removeFirst()
            record(t.reads, t.writes, t.start)
            base += 1
            if sendPlaces { send(bytes) }
            sent = true
        }
        return sent
    }
}
