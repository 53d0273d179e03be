import ComplexModule
import Testing
import ZiggyFoundation
import ZiggyMmap
import ZiggySupport  // Complex: TrivialElement without the Numerics trait

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
@_spi(AllocatorImplementation) import ZiggyAlloc
#endif

@Suite("Data bridges")
struct DataBridgeTests {
    @Test("Data(moving:) takes a system buffer's memory without a copy; the bytes are freed with the Data")
    func movesSystemMemory() throws {
        let system = SystemMemoryAllocator()
        var buffer = try system.allocate(Double.self, count: 1 << 16)
        for i in buffer.indices { buffer[i] = Double(i) }
        let address = UInt(bitPattern: buffer.unsafeBaseAddress)
        let movable = buffer.movesIntoDataWithoutCopy
        #expect(movable)
        do {
            let data = Data(moving: buffer)
            #expect(data.count == 8 << 16)
            data.withUnsafeBytes { bytes in
                #expect(UInt(bitPattern: bytes.baseAddress) == address)
                #expect(bytes.load(fromByteOffset: 8 * 1000, as: Double.self) == 1000)
            }
            #expect(system.statistics.liveBytes == 8 << 16)
        }
        #expect(system.statistics.liveBytes == 0)
    }

    @Test("Data(moving:) of a 2 MiB-page mapping keeps the mapping; it is unmapped when the Data goes")
    func movesMapping() throws {
        let allocator = MmapAllocator(pageSize: .transparentHuge)
        var buffer = try allocator.allocate(UInt8.self, count: 4 << 20)
        buffer.fill(with: 7)
        let address = UInt(bitPattern: buffer.unsafeBaseAddress)
        do {
            let data = Data(moving: buffer)
            data.withUnsafeBytes { #expect(UInt(bitPattern: $0.baseAddress) == address) }
            #expect(data.allSatisfy { $0 == 7 })
            #expect(allocator.mmapStatistics.mappedBytes >= 4 << 20)
        }
        #expect(allocator.mmapStatistics.mappedBytes == 0)
    }

    @Test("arena memory is copied into the Data (the arena reclaims its memory at scope end)")
    func copiesArenaMemory() throws {
        let data = try ScopedAllocator.withScope { arena in
            var buffer = try arena.allocate(UInt32.self, count: 1024)
            for i in buffer.indices { buffer[i] = UInt32(i) }
            let movable = buffer.movesIntoDataWithoutCopy
            #expect(!movable)
            return Data(moving: buffer)
        }
        // Read after the scope ended: a Data pointing into the arena would read freed memory.
        #expect(data.count == 4096)
        data.withUnsafeBytes { #expect($0.load(fromByteOffset: 4 * 1023, as: UInt32.self) == 1023) }
    }

    @Test("withWrapping(Data) views the bytes as elements in place; bad layouts are typed errors before the body")
    func wrapsData() throws {
        var data = Data(count: 16 * 32)
        try UnmanagedBuffer<Complex<Double>>.withWrapping(&data) { (view) throws(Never) in
            #expect(view.count == 32)
            for i in view.indices { view[i] = Complex(Double(i), 1) }
        }
        data.withUnsafeBytes { #expect($0.load(fromByteOffset: 16 * 5, as: Double.self) == 5) }

        var odd = Data(count: 12)
        var ran = false
        let error = #expect(throws: UnmanagedBuffer<Double>.WrappingError<Never>.self) {
            try UnmanagedBuffer<Double>.withWrapping(&odd) { (_) throws(Never) in ran = true }
        }
        #expect(!ran)
        if case .layout(let reason)? = error {
            #expect(reason.description.contains("not a multiple of 8 B"))
        } else {
            Issue.record("expected a layout error, got \(String(describing: error))")
        }
    }

    /// A class that wrongly claims a trivial layout.
    final class Claims: TrivialElement {
        var value = 0
    }

    @Test("withWrapping(Data) of a type that only claims to be trivial: layout(nonTrivialElement) before the body, Data unchanged")
    func wrapsDataNonTrivial() {
        var data = Data(repeating: 7, count: 64)
        var ran = false
        let error = #expect(throws: UnmanagedBuffer<Claims>.WrappingError<Never>.self) {
            try UnmanagedBuffer<Claims>.withWrapping(&data) { (_) throws(Never) in ran = true }
        }
        #expect(error == .layout(.nonTrivialElement("Claims")))
        #expect(!ran && data == Data(repeating: 7, count: 64))
    }

    @Test("withWrapping(Data) passes the body's typed error through")
    func wrapsDataRethrows() throws {
        struct Stop: Error, Equatable {}
        var data = Data(count: 64)
        let error = #expect(throws: UnmanagedBuffer<UInt64>.WrappingError<Stop>.self) {
            try UnmanagedBuffer<UInt64>.withWrapping(&data) { (_) throws(Stop) in throw Stop() }
        }
        guard case .body(let stop)? = error else {
            Issue.record("expected the body's error, got \(String(describing: error))")
            return
        }
        #expect(stop == Stop())
    }

    @Test("withWrapping([T]) works on an array's storage in place")
    func wrapsArray() {
        var values = [Double](repeating: 1, count: 100)
        UnmanagedBuffer.withWrapping(&values) { view in view.fill(with: 2.5) }
        #expect(values.allSatisfy { $0 == 2.5 })
    }
}
