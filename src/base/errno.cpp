// Names and strerror(3) texts for the errnos mmsim returns.
//
// A simulated program that the kernel refuses sees the same errno value a
// real one would; when mmsim prints it, it uses glibc's wording, so the
// message reads like the shell's ("echo: write error: Invalid argument").
#include "mmsim/result.h"

namespace mmsim {

namespace {

struct ErrnoDesc {
    Errno code;
    const char* name;
    const char* text;
};

constexpr ErrnoDesc kErrnos[] = {
    {Errno::OK, "0", "Success"},
    {Errno::PERM, "EPERM", "Operation not permitted"},
    {Errno::NOENT, "ENOENT", "No such file or directory"},
    {Errno::SRCH, "ESRCH", "No such process"},
    {Errno::INTR, "EINTR", "Interrupted system call"},
    {Errno::IO, "EIO", "Input/output error"},
    {Errno::TOOBIG, "E2BIG", "Argument list too long"},
    {Errno::BADF, "EBADF", "Bad file descriptor"},
    {Errno::CHILD, "ECHILD", "No child processes"},
    {Errno::AGAIN, "EAGAIN", "Resource temporarily unavailable"},
    {Errno::NOMEM, "ENOMEM", "Cannot allocate memory"},
    {Errno::ACCES, "EACCES", "Permission denied"},
    {Errno::FAULT, "EFAULT", "Bad address"},
    {Errno::BUSY, "EBUSY", "Device or resource busy"},
    {Errno::EXIST, "EEXIST", "File exists"},
    {Errno::NODEV, "ENODEV", "No such device"},
    {Errno::NOTDIR, "ENOTDIR", "Not a directory"},
    {Errno::ISDIR, "EISDIR", "Is a directory"},
    {Errno::INVAL, "EINVAL", "Invalid argument"},
    {Errno::NFILE, "ENFILE", "Too many open files in system"},
    {Errno::MFILE, "EMFILE", "Too many open files"},
    {Errno::FBIG, "EFBIG", "File too large"},
    {Errno::NOSPC, "ENOSPC", "No space left on device"},
    {Errno::SPIPE, "ESPIPE", "Illegal seek"},
    {Errno::ROFS, "EROFS", "Read-only file system"},
    {Errno::RANGE, "ERANGE", "Numerical result out of range"},
    {Errno::NOSYS, "ENOSYS", "Function not implemented"},
    {Errno::OVERFLOW, "EOVERFLOW", "Value too large for defined data type"},
    {Errno::OPNOTSUPP, "EOPNOTSUPP", "Operation not supported"},
};

const ErrnoDesc* find(Errno e) {
    for (const auto& d : kErrnos)
        if (d.code == e) return &d;
    return nullptr;
}

}  // namespace

const char* errno_name(Errno e) {
    const ErrnoDesc* d = find(e);
    return d ? d->name : "EUNKNOWN";
}

const char* errno_text(Errno e) {
    const ErrnoDesc* d = find(e);
    return d ? d->text : "Unknown error";
}

}  // namespace mmsim
