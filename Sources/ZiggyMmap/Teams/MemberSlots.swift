/// One value per member, each written only by its member during a region and read after the
/// join (errors of `run`, partial results of the reductions).
///
/// Raw storage, not a Swift array: members writing different elements of one array property
/// would each start a modify access to the whole array at once (a data race ThreadSanitizer
/// reports, and undefined behaviour in Swift).
final class MemberSlots<Value>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Value>
    private let count: Int
    init(count: Int, initial: Value) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: initial, count: count)
    }
    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }
    /// Member `member`'s value; only that member may write it while a region runs.
    subscript(member: Int) -> Value {
        get { slots[member] }
        _modify { yield &slots[member] }
    }
    /// The values in member order (after the join).
    var values: [Value] { (0..<count).map { slots[$0] } }
}

extension MemberSlots where Value == (any Error)? {
    /// After the join: clears every slot and returns the lowest-numbered member's error.
    func takeFirst() -> (any Error)? {
        var first: (any Error)?
        for index in 0..<count where self[index] != nil {
            if first == nil { first = self[index] }
            self[index] = nil
        }
        return first
    }
}
