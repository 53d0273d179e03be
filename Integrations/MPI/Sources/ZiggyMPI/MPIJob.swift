import CMPI
import Glibc
import ZiggyMmap

/// This process's place in an MPI job: its rank in `MPI_COMM_WORLD`, its rank among the ranks on
/// the same host (the shared-memory communicator, `MPI_Comm_split_type` with
/// `MPI_COMM_TYPE_SHARED`), the host's name and the NUMA binding the launcher gave it.
///
/// **Ownership.** Creating the first `MPIJob` initializes MPI (`MPI_Init_thread`, funneled: only
/// the thread that created it calls MPI; the library's own threads never do); when it ends it
/// frees its communicators and finalizes MPI — unless MPI was already initialized by someone else,
/// who then finalizes it. Not `Sendable`: MPI is called from one thread.
///
/// **Collective.** The initializer and every method marked *collective* must be called by every
/// rank of the job in the same order, as with MPI itself.
public final class MPIJob {
    /// Rank in `MPI_COMM_WORLD`, and the number of ranks.
    public let rank: Int
    public let size: Int
    /// Rank among the ranks on this host, and their number.
    public let localRank: Int
    public let localSize: Int
    /// The host's name (`MPI_Get_processor_name`).
    public let host: String
    /// The NUMA binding this rank inherited from the launcher (read when the job was created).
    public let binding: NumaTopology.Binding
    /// The CPUs this rank may run on, ascending: the affinity it inherited from the launcher
    /// (`NumaTopology.current().allowedCPUs`, read when the job was created).
    public let allowedCPUs: [Int]

    let world: MPI_Comm
    let local: MPI_Comm
    private let initializedMPI: Bool
    private var finalized = false

    /// Joins the job (collective). Throws ``MPIError/call(_:code:message:)`` when MPI cannot start.
    public init() throws(MPIError) {
        var already: Int32 = 0
        try check(MPI_Initialized(&already), "MPI_Initialized")
        if already == 0 {
            var provided: Int32 = 0
            try check(MPI_Init_thread(nil, nil, zg_mpi_thread_funneled(), &provided), "MPI_Init_thread")
        }
        initializedMPI = already == 0
        world = zg_mpi_comm_world()
        var value: Int32 = 0
        try check(MPI_Comm_rank(world, &value), "MPI_Comm_rank")
        rank = Int(value)
        try check(MPI_Comm_size(world, &value), "MPI_Comm_size")
        size = Int(value)
        var shared: MPI_Comm? = nil
        try check(
            MPI_Comm_split_type(world, zg_mpi_comm_type_shared(), Int32(rank), zg_mpi_info_null(), &shared),
            "MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)")
        local = shared!
        try check(MPI_Comm_rank(local, &value), "MPI_Comm_rank(local)")
        localRank = Int(value)
        try check(MPI_Comm_size(local, &value), "MPI_Comm_size(local)")
        localSize = Int(value)
        var name = [CChar](repeating: 0, count: Int(MPI_MAX_PROCESSOR_NAME) + 1)
        var length: Int32 = 0
        try check(MPI_Get_processor_name(&name, &length), "MPI_Get_processor_name")
        host = String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        binding = NumaTopology.Binding.current()
        allowedCPUs = NumaTopology.current().allowedCPUs
    }

    deinit { finalize() }

    /// Leaves the job now (collective): frees this job's communicators and, when this value
    /// initialized MPI, finalizes it. Called by `deinit`; needed explicitly before `exit()`, which
    /// runs no deinitializers (MPI reports a rank that exits unfinalized as a failed job). Calling
    /// it again does nothing; no other method may be called after it.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        var comm: MPI_Comm? = local
        MPI_Comm_free(&comm)
        if initializedMPI { MPI_Finalize() }
    }

    /// The node this rank's memory goes to: its binding's node, or for a binding over several
    /// nodes the lowest of them (the one it is grouped with for huge-page reservations).
    public var node: Int { binding.node ?? binding.nodes.min() ?? 0 }

    /// Waits until every rank arrives (collective).
    public func barrier() throws(MPIError) { try check(MPI_Barrier(world), "MPI_Barrier") }

    /// An allocator keeping this rank's memory on its node (``NumaAllocator/init(bound:spanning:pageSize:fallback:populate:lock:reusePoolBytes:onFallback:)``
    /// over ``binding``): `bind` to the node; a binding over several nodes is handled as
    /// `spanning` says (interleave by default; `.refuse` throws).
    public func nodeAllocator(
        pageSize: PageSize = .huge2MiB, fallback: MmapAllocator.Fallback = .anySmaller, populate: PopulateMode = .none,
        spanning: NumaTopology.Binding.Spanning = .interleave, onFallback: (@Sendable (MmapAllocator.FallbackEvent) -> Void)? = nil
    ) throws(MPIError) -> NumaAllocator {
        do {
            return try NumaAllocator(
                bound: binding, spanning: spanning, pageSize: pageSize, fallback: fallback, populate: populate,
                onFallback: onFallback)
        } catch {
            throw .placement(error)
        }
    }
}

/// Throws ``MPIError/call(_:code:message:)`` unless `code` is `MPI_SUCCESS`.
func check(_ code: Int32, _ call: String) throws(MPIError) {
    guard code != zg_mpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(zg_mpi_max_error_string()) + 1)
    var length: Int32 = 0
    _ = MPI_Error_string(code, &text, &length)
    throw .call(call, code: code, message: String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self))
}
