import Glibc
import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

@testable import ZiggyMmap

/// A reservation's page count is bounded before the kernel is asked: more pages than memory holds,
/// or Int.max, is a typed error, never an overflow trap or a request written to the pool. Each call
/// runs in a child process, which a trap would end instead of the test process.
@Suite("HugePageReservation: request bounds", .serialized)
struct HugePageReservationBoundsTests {
    @Test(
        "HugePageReservation(count: Int.max) throws instead of trapping",
        .enabled(if: isRoot, "needs root (the trap is on before + count, computed before the write)"),
        .enabled(if: HugePageReservation.Pool.read(.huge2MiB) != nil, "no 2 MiB pool"))
    func reservationIntMax() async throws {
        // The child's overflow trap happens before anything is written only when the pool is at
        // least 1 (with 0, the kernel would be asked for Int.max pages). Hold one page ourselves:
        // no cooperating process gives back pages it did not add, so the pool stays at least 1
        // while the child runs — without this test holding the pool lock, which the child may need.
        let own = try HugePageReservation(.huge2MiB, count: 1)
        defer { _ = own.granted }
        try #require(own.granted == 1 && (Kernel.readInt("/proc/sys/vm/nr_hugepages") ?? 0) >= 1)
        await ChildScenario.reservationIntMax.runInChild()
    }

    @Test("HugePageReservation(count: 1 << 40) is refused as more than memory holds, before asking the kernel")
    func reservationBeyondMemory() async {
        // Runs unprivileged (the child drops root first), so nothing can be written whatever happens.
        await ChildScenario.reservationBeyondMemory.runInChild()
    }

    // MARK: the children

    static func reservationIntMax() -> Bool {
        // Only safe while the pool is non-zero: on the library before the fix, `before + Int.max`
        // then overflowed before any write (with 0, the kernel would be asked for Int.max pages).
        guard (Kernel.readInt("/proc/sys/vm/nr_hugepages") ?? 0) >= 1 else {
            say("refusing: nr_hugepages is 0, the kernel would be asked for Int.max pages")
            return false
        }
        return ChildScenario.expectThrows("HugePageReservation(.huge2MiB, count: Int.max)") {
            try HugePageReservation(.huge2MiB, count: Int.max).granted
        }
    }

    static func reservationBeyondMemory() -> Bool {
        if geteuid() == 0 {
            guard setgid(65534) == 0, setuid(65534) == 0, geteuid() != 0 else {
                say("could not drop root; not calling")
                return false
            }
        }
        guard access("/proc/sys/vm/nr_hugepages", W_OK) != 0 else {
            say("nr_hugepages is writable unprivileged; not calling")
            return false
        }
        say("unprivileged (uid \(geteuid())): the pool cannot be written, whatever the library does")
        do throws(MmapError) {
            let reservation = try HugePageReservation(.huge2MiB, count: 1 << 40)
            say("HugePageReservation(count: 1 << 40) returned granted \(reservation.granted)")
            return false
        } catch {
            say("HugePageReservation(.huge2MiB, count: 1 << 40 = 2 EiB of pages) threw: \(error)")
            if case .kernel(let call, _, _) = error, call.hasPrefix("write") {
                say("=> no bound: the request went to the kernel (as root it would have been written)")
                return false
            }
            return true
        }
    }
}
