import Engines
import NIOCore

/// A peer link's unanswered requests, by id. Ids are handed out in order and mostly answered
/// in order, so they live in a ring from the oldest unanswered id: an answer is found by
/// offset (no hashing), answered slots become holes that leave once they reach the front, and
/// deadlines, never decreasing with the id, expire from the front.
struct InFlightRequests {
    struct Entry {
        let receiver: any ReplyReceiver
        let sequence: Int
        let deadline: NIODeadline
    }

    private var slots = CircularBuffer<Entry?>(initialCapacity: 256)
    /// The id of `slots.first`; the next id to hand out is `firstID + slots.count`.
    private var firstID: UInt64 = 1
    /// Unanswered entries (slots that are not holes).
    private(set) var count = 0

    /// The id the next `add` returns.
    var nextID: UInt64 { firstID &+ UInt64(slots.count) }

    /// Width of the ring, holes included: what the in-flight limit bounds.
    var span: Int { slots.count }

    /// Adds a request and returns its id.
    mutating func add(_ entry: Entry) -> UInt64 {
        slots.append(entry)
        count += 1
        return firstID &+ UInt64(slots.count - 1)
    }

    /// Takes the request with `id` out; nil when it was answered, expired or failed already.
    mutating func take(_ id: UInt64) -> Entry? {
        guard id >= firstID, id - firstID < UInt64(slots.count) else { return nil }
        let index = slots.index(slots.startIndex, offsetBy: Int(id - firstID))
        guard let entry = slots[index] else { return nil }
        slots[index] = nil
        count -= 1
        dropLeadingHoles()
        return entry
    }

    /// Takes out, in id order, every request whose deadline has passed.
    mutating func expire(now: NIODeadline) -> [Entry] {
        var expired: [Entry] = []
        while let head = slots.first {
            if let entry = head {
                guard entry.deadline <= now else { break }
                expired.append(entry)
                count -= 1
            }
            slots.removeFirst()
            firstID &+= 1
        }
        return expired
    }

    /// Takes out every request, in id order (the send order).
    mutating func removeAll() -> [Entry] {
        let all = slots.compactMap { $0 }
        firstID &+= UInt64(slots.count)
        slots.removeAll(keepingCapacity: true)
        count = 0
        return all
    }

    private mutating func dropLeadingHoles() {
        while let head = slots.first, head == nil {
            slots.removeFirst()
            firstID &+= 1
        }
    }
}
