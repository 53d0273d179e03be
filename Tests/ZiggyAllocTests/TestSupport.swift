import Glibc
import ZiggyAlloc
import ZiggyKernel

let ENOMEM_CODE: Int32 = ENOMEM
