// Errors inside the library are C++ exceptions of one type; the ABI boundary turns them
// into a status code plus a thread-local message (see guarded()). Nothing else may escape.
#pragma once

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "inkwell/inkwell.h"

namespace inkwell {

class Error : public std::runtime_error {
public:
    Error(inkwell_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}
    inkwell_status status() const { return status_; }

private:
    inkwell_status status_;
};

[[noreturn]] inline void invalid_argument(const std::string& message) {
    throw Error(INKWELL_INVALID_ARGUMENT, message);
}

[[noreturn]] inline void unsupported(const std::string& message) {
    throw Error(INKWELL_UNSUPPORTED, message);
}

void set_last_error(const char* message) noexcept;

// Runs body and converts whatever it throws into a status. Every exported function that
// can fail goes through here.
template <class Body>
int32_t guarded(Body&& body) noexcept {
    try {
        std::forward<Body>(body)();
        return INKWELL_OK;
    } catch (const Error& e) {
        set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_last_error("out of memory while allocating scratch buffers");
        return INKWELL_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(e.what());
        return INKWELL_INTERNAL_ERROR;
    } catch (...) {
        set_last_error("unknown internal error");
        return INKWELL_INTERNAL_ERROR;
    }
}

}  // namespace inkwell
