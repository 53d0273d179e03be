// The MPI C API for Swift. Open MPI's and MPICH's handles for the predefined communicators,
// datatypes and operations are macros that cast the address of a library global (Open MPI) or
// an integer constant (MPICH); Swift imports neither, so each one the integration uses is
// returned by a static inline function here. No other C code is needed.
#include <mpi.h>

static inline MPI_Comm zg_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm zg_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline int zg_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info zg_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Datatype zg_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype zg_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype zg_mpi_char(void) { return MPI_CHAR; }
static inline MPI_Op zg_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op zg_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op zg_mpi_min(void) { return MPI_MIN; }
static inline int zg_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
static inline int zg_mpi_success(void) { return MPI_SUCCESS; }
static inline int zg_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
