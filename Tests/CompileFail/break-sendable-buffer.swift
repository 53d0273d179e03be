// Intended break the digester cannot see (CHANGELOG 0.2.0): UnmanagedBuffer is Sendable only when
// its elements are, no longer for every element.
//
// EXPECT-ERROR: error: .*(Sendable|sending|data race)
import ZiggyAlloc

final class NotSendable { var value = 0 }
struct Handle: TrivialElement { unowned(unsafe) let object: NotSendable }

func send(_ buffer: consuming UnmanagedBuffer<Handle>) async {
    let task = Task.detached { [buffer = consume buffer] in _ = buffer.count }
    await task.value
}

func requiresSendable<T: Sendable & ~Copyable>(_ value: borrowing T) {}
func check(_ buffer: borrowing UnmanagedBuffer<Handle>) { requiresSendable(buffer) }
