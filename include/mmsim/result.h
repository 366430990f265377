// Errors the Linux way: an errno with its real value, carried in a Result.
//
// g++ 12 has no std::expected, so Result<T> is our own small version: it
// holds either a T or an Error (an errno plus a human sentence). System calls
// and sysctl writes return Result so callers get exactly the errno a real
// program would see.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace mmsim {

// Values are Linux's (include/uapi/asm-generic/errno-base.h and errno.h).
// The names drop the leading E (Errno::NOMEM is ENOMEM) because <cerrno>
// defines the E-names as macros; errno_name() prints the real name.
enum class Errno : int {
    OK = 0,
    PERM = 1,
    NOENT = 2,
    SRCH = 3,
    INTR = 4,
    IO = 5,
    TOOBIG = 7,  // E2BIG
    BADF = 9,
    CHILD = 10,
    AGAIN = 11,
    NOMEM = 12,
    ACCES = 13,
    FAULT = 14,
    BUSY = 16,
    EXIST = 17,
    NODEV = 19,
    NOTDIR = 20,
    ISDIR = 21,
    INVAL = 22,
    NFILE = 23,
    MFILE = 24,
    FBIG = 27,
    NOSPC = 28,
    SPIPE = 29,
    ROFS = 30,
    RANGE = 34,
    NOSYS = 38,
    OVERFLOW = 75,
    OPNOTSUPP = 95,
};

// "EINVAL"
const char* errno_name(Errno e);
// "Invalid argument", as strerror(3) says it.
const char* errno_text(Errno e);

struct Error {
    Errno code = Errno::INVAL;
    std::string message;  // what went wrong, for people; may be empty
};

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : m_v(std::move(value)) {}
    Result(Error e) : m_v(std::move(e)) {}
    Result(Errno e) : m_v(Error{e, {}}) {}

    bool ok() const { return m_v.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(m_v); }
    const T& value() const { return std::get<0>(m_v); }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    const Error& error() const { return std::get<1>(m_v); }
    Errno err() const { return ok() ? Errno::OK : error().code; }

private:
    std::variant<T, Error> m_v;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error e) : m_err(std::move(e)), m_ok(false) {}
    Result(Errno e) : m_err(Error{e, {}}), m_ok(e == Errno::OK) {}

    bool ok() const { return m_ok; }
    explicit operator bool() const { return m_ok; }
    const Error& error() const { return m_err; }
    Errno err() const { return m_ok ? Errno::OK : m_err.code; }

private:
    Error m_err{Errno::OK, {}};
    bool m_ok = true;
};

inline Error make_error(Errno code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace mmsim
