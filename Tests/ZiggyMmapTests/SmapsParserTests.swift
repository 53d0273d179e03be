import Testing
@_spi(AllocatorImplementation) import ZiggyAlloc

@testable import ZiggyMmap

/// The byte-level `/proc/self/smaps` reader against text written the way the kernel prints it.
@Suite("smaps parser")
struct SmapsParserTests {
    static let text = """
        7f0000000000-7f0000200000 rw-p 00000000 00:00 0 
        Size:               2048 kB
        KernelPageSize:        4 kB
        Rss:                2048 kB
        AnonHugePages:      2048 kB
        Locked:                0 kB
        THPeligible:    1
        VmFlags: rd wr mr mw me ac hg 
        7f0000200000-7f0000400000 rw-s 00000000 00:0f 1234                       /anon_hugepage (deleted)
        KernelPageSize:     2048 kB
        Rss:                   0 kB
        Shared_Hugetlb:     2048 kB
        Private_Hugetlb:    2048 kB
        Locked:             2048 kB
        VmFlags: rd wr sh mr mw me ms de ht sd
        7f0000400000-7f0000401000 r--p 00000000 08:01 99                         /usr/lib/x-hg.so
        KernelPageSize:        4 kB
        Rss:                   4 kB
        VmFlags: rd mr mw me xhg hgx
        ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
        Rss:                   0 kB
        """

    func parse(_ start: UInt, _ end: UInt) -> [PageSize.Report.Region] {
        SmapsParser(start: start, end: end).regions(in: Array(Self.text.utf8))
    }

    @Test("every field of a region is read, in KiB as printed")
    func fields() {
        let regions = parse(0x7f00_0000_0000, 0x7f00_0040_1000)
        #expect(regions.count == 3)
        #expect(
            regions[0]
                == PageSize.Report.Region(
                    start: 0x7f00_0000_0000, end: 0x7f00_0020_0000, kernelPageSize: 4096, residentBytes: 2 << 20,
                    anonHugeBytes: 2 << 20, hugetlbBytes: 0, lockedBytes: 0, advisedHuge: true,
                    extendsBeyondRange: false, overlapBytes: 2 << 20))
        #expect(regions[1].kernelPageSize == 2 << 20)
        #expect(regions[1].hugetlbBytes == 4 << 20, "Shared_Hugetlb and Private_Hugetlb add up")
        #expect(regions[1].lockedBytes == 2 << 20)
        #expect(!regions[1].advisedHuge)
        #expect(!regions[2].advisedHuge, "'xhg' and 'hgx' are not the flag 'hg'")
    }

    @Test("mappings outside the range are skipped; one reaching beyond it says so")
    func range() {
        let regions = parse(0x7f00_0010_0000, 0x7f00_0020_0000)
        #expect(regions.count == 1)
        #expect(regions.first?.extendsBeyondRange == true)
        #expect(regions.first?.overlapBytes == 1 << 20)
        #expect(parse(0x1000, 0x2000).isEmpty)
        #expect(parse(0xffff_ffff_ff60_0000, UInt.max).count == 1, "the top of the address space parses")
    }

    @Test("truncated or garbled text gives what it can, never traps")
    func hostile() {
        for cut in stride(from: 0, to: Self.text.utf8.count, by: 7) {
            let bytes = Array(Self.text.utf8.prefix(cut))
            let regions = SmapsParser(start: 0, end: .max).regions(in: bytes)
            #expect(regions.count <= 4)
        }
        let garbled = Array("zz-yy rw-p\n7f-\n-7f \nRss: 99999999999999999999999 kB\n7f0000000000-7f0000001000 x\nRss: 8 kB\n".utf8)
        let regions = SmapsParser(start: 0, end: .max).regions(in: garbled)
        #expect(regions.count == 1)
        #expect(regions.first?.residentBytes == 8192)
    }
}
