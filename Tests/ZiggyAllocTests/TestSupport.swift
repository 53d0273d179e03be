import Glibc
import ZiggyAlloc

let ENOMEM_CODE: Int32 = ENOMEM
