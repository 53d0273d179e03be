import Glibc
import ZiggyAlloc
import ZiggyKernel
@_spi(AllocatorImplementation) import ZiggyAlloc

let ENOMEM_CODE: Int32 = ENOMEM
