import CMPI
import ZiggyMmap

// The few collectives the integration needs, over Swift values. Each is collective over `comm`
// (the world by default): every rank of it must call, in the same order.
extension MPIJob {
    /// `MPI_Allreduce` of one integer.
    public func allReduce(_ value: Int, _ op: ReduceOperation) throws(MPIError) -> Int {
        try allReduce(value, op, over: world)
    }

    /// `MPI_Reduce` of one double to rank 0: the result there, nil on the other ranks.
    public func reduce(_ value: Double, _ op: ReduceOperation) throws(MPIError) -> Double? {
        var send = value
        var result = 0.0
        try check(MPI_Reduce(&send, &result, 1, zg_mpi_double(), op.handle, 0, world), "MPI_Reduce")
        return rank == 0 ? result : nil
    }

    /// `MPI_Gather` of one text per rank to rank 0 (at most ``gatherTextLimit`` UTF-8 bytes each):
    /// all of them, in rank order, there; empty on the other ranks. Every rank first learns the
    /// longest text, so a text over the limit makes every rank throw
    /// ``MPIError/invalidArgument(_:)`` together — never one rank alone while the others wait in
    /// `MPI_Gather` — and each rank sends only as many bytes as the longest text needs.
    public func gather(_ text: String) throws(MPIError) -> [String] {
        let bytes = Array(text.utf8)
        let longest = try allReduce(bytes.count, .max)
        guard longest <= MPIJob.gatherTextLimit else {
            throw .invalidArgument(
                "gather: a rank's text has \(longest) B, more than the \(MPIJob.gatherTextLimit) B each rank may send")
        }
        // Each slot: the text's length (8 bytes), then the text, padded to the longest.
        let slot = 8 + longest
        var packed = withUnsafeBytes(of: Int64(bytes.count).littleEndian) { Array($0) }
        packed += bytes + [UInt8](repeating: 0, count: longest - bytes.count)
        var received = [UInt8](repeating: 0, count: rank == 0 ? slot * size : 1)
        try check(
            MPI_Gather(&packed, Int32(slot), zg_mpi_char(), &received, Int32(slot), zg_mpi_char(), 0, world), "MPI_Gather")
        guard rank == 0 else { return [] }
        return (0..<size).map { index in
            let start = index * slot
            let length = received[start..<start + 8].reversed().reduce(0) { $0 << 8 | Int($1) }
            return String(decoding: received[start + 8..<start + 8 + min(length, longest)], as: UTF8.self)
        }
    }

    /// The most UTF-8 bytes one rank's text may have in ``gather(_:)``.
    public static let gatherTextLimit = 1 << 16

    /// Every rank's verdict on its own arguments, agreed before any rank enters a collective that
    /// depends on them (collective): throws `problem` on the rank that has one and a note naming
    /// how many ranks failed on the others, so a bad argument on one rank never leaves the rest
    /// waiting in a collective it skipped.
    func agree(_ problem: MPIError?) throws(MPIError) {
        let failing = try allReduce(problem == nil ? 0 : 1, .sum)
        guard failing > 0 else { return }
        throw problem ?? .invalidArgument("\(failing) other rank(s) refused their arguments (their errors say why)")
    }

    /// The reduction operations used here.
    public enum ReduceOperation: Sendable {
        case sum, max, min
        var handle: MPI_Op {
            switch self {
            case .sum: return zg_mpi_sum()
            case .max: return zg_mpi_max()
            case .min: return zg_mpi_min()
            }
        }
    }

    func allReduce(_ value: Int, _ op: ReduceOperation, over comm: MPI_Comm) throws(MPIError) -> Int {
        var send = Int64(value)
        var result: Int64 = 0
        try check(MPI_Allreduce(&send, &result, 1, zg_mpi_int64(), op.handle, comm), "MPI_Allreduce")
        return Int(result)
    }

    /// Integers from `root` of `comm` to all its ranks.
    func broadcast(_ values: [Int], from root: Int, over comm: MPI_Comm) throws(MPIError) -> [Int] {
        var words = values.map(Int64.init)
        try check(MPI_Bcast(&words, Int32(words.count), zg_mpi_int64(), Int32(root), comm), "MPI_Bcast")
        return words.map(Int.init)
    }
}
