import Glibc
import Testing

enum ScratchHelper {
    static func run() async {
        await #expect(processExitsWith: .success) {
            _ = "hello-helper\n".withCString { write(STDERR_FILENO, $0, strlen($0)) }
        }
    }
    static func runObserve() async {
        let r = await #expect(processExitsWith: .success, observing: [\.standardOutputContent, \.standardErrorContent]) {
            _ = "hello-observe\n".withCString { write(STDERR_FILENO, $0, strlen($0)) }
        }
        print("ERR:", String(decoding: r?.standardErrorContent ?? [], as: UTF8.self))
    }
}

@Suite("ZZScratch")
struct ZZScratch {
    @Test func inline() async {
        await #expect(processExitsWith: .success) { _ = 1 }
    }
    @Test func helper() async { await ScratchHelper.run() }
    @Test func helperObserve() async { await ScratchHelper.runObserve() }
}
