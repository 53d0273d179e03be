import Glibc
import SystemPackage

/// C names of the error numbers the library's messages mention.
private let errnoNames: [CInt: String] = [
    EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO",
    EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES", EFAULT: "EFAULT",
    EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR", EISDIR: "EISDIR",
    EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ETXTBSY: "ETXTBSY", EFBIG: "EFBIG",
    ENOSPC: "ENOSPC", ESPIPE: "ESPIPE", EROFS: "EROFS", ERANGE: "ERANGE", ENOSYS: "ENOSYS",
    ELOOP: "ELOOP", EOVERFLOW: "EOVERFLOW", ENOTSUP: "ENOTSUP", EHWPOISON: "EHWPOISON",
]

extension Errno {
    /// The C name of the error number ("ENOMEM"), or "errno N" for numbers without one here.
    package var symbolicName: String { errnoNames[rawValue] ?? "errno \(rawValue)" }

    /// "ENOMEM (Cannot allocate memory)": the name a user can search for, and what it means.
    package var report: String { "\(symbolicName) (\(description))" }
}
