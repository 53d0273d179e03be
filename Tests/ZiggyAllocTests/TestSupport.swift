import Glibc
import ZiggyAlloc
@_spi(AllocatorImplementation) import ZiggyAlloc
import ZiggyKernel

let ENOMEM_CODE: Int32 = ENOMEM
