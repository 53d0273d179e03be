import Glibc

/// One OS thread running a closure; join() waits for it. The child scenarios use it where a task
/// would not do: a thread that may block in the kernel for good (a FIFO's open), or two threads
/// that must race each other for real.
final class OSThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: () -> Void

    init(_ body: @escaping () -> Void) {
        self.body = body
        let rc = pthread_create(
            &thread, nil,
            { raw in
                Unmanaged<OSThread>.fromOpaque(raw!).takeRetainedValue().body()
                return nil
            }, Unmanaged.passRetained(self).toOpaque())
        precondition(rc == 0, "pthread_create failed: \(rc)")
    }

    func join() { pthread_join(thread, nil) }
}

/// The calling thread's kernel id, from /proc/thread-self ("PID/task/TID").
func currentThreadID() -> Int {
    var buffer = [UInt8](repeating: 0, count: 64)
    let length = buffer.withUnsafeMutableBufferPointer { readlink("/proc/thread-self", $0.baseAddress!, 63) }
    guard length > 0 else { return 0 }
    return Int(String(decoding: buffer[0..<length], as: UTF8.self).split(separator: "/").last ?? "") ?? 0
}
