// Loads the optional CUDA backend, libinkwell_cuda.so, from the directory that holds this
// library (found with dladdr on one of our own symbols), on first use. The core never links
// CUDA: without the backend library, driver or device, CUDA contexts are UNSUPPORTED and
// everything else keeps working. A failed load is retried on the next request (the file
// may have been installed since); a successful one is kept for the life of the process
// (never dlclosed: contexts may outlive any one caller).
#include <dlfcn.h>
#include <unistd.h>

#include <mutex>
#include <string>

#include "context.hpp"

namespace inkwell {

namespace {

std::mutex load_mutex;
const cuda_backend::Table* loaded = nullptr;

// Directory of the shared object (or executable) this function was linked into.
std::string own_directory(std::string& own_path) {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&own_directory), &info) == 0 || info.dli_fname == nullptr)
        unsupported("CUDA backend: cannot find the path of libinkwell (dladdr failed)");
    own_path = info.dli_fname;
    const size_t slash = own_path.rfind('/');
    return slash == std::string::npos ? std::string(".") : own_path.substr(0, slash);
}

// The backend's static CUDA runtime opens the driver, libcuda.so.1, only when asked for a
// device, and reports a machine without one as "CUDA driver version is insufficient for CUDA
// runtime version": say plainly that there is no driver instead. The handle stays open (the
// runtime opens the same library next; the process keeps it either way).
void require_driver() {
    if (dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL) != nullptr) return;
    const char* error = dlerror();
    const std::string why = error ? error : "dlopen failed";
    if (why.find("No such file") != std::string::npos)
        unsupported("no NVIDIA driver: libcuda.so.1 not found (" + why + ")");
    unsupported("cannot load the NVIDIA driver, libcuda.so.1: " + why);
}

const cuda_backend::Table* load() {
    std::string own_path;
    const std::string path = own_directory(own_path) + "/" + cuda_backend::kLibraryName;
    if (access(path.c_str(), F_OK) != 0)
        unsupported(std::string(cuda_backend::kLibraryName) + " not found next to " + own_path + " (looked for " +
                    path + ")");
    require_driver();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        unsupported("cannot load " + path + ": " + (why ? why : "unknown dlopen error"));
    }
    auto entry = reinterpret_cast<cuda_backend::EntryPoint>(dlsym(handle, cuda_backend::kEntryPoint));
    if (entry == nullptr) {
        dlclose(handle);
        unsupported(path + " has no " + cuda_backend::kEntryPoint + ": it belongs to another Inkwell version");
    }
    const cuda_backend::Table* table = entry();
    if (table == nullptr || table->version != cuda_backend::kVersion || table->table_size != sizeof(cuda_backend::Table)) {
        dlclose(handle);
        unsupported(path + " implements another backend version than this libinkwell (" +
                    std::to_string(cuda_backend::kVersion) + ")");
    }
    return table;
}

}  // namespace

const cuda_backend::Table& load_cuda_backend() {
    std::lock_guard<std::mutex> lock(load_mutex);
    if (loaded == nullptr) loaded = load();
    return *loaded;
}

}  // namespace inkwell

extern "C" int32_t inkwell_cuda_device_count(int32_t* out_count) {
    using namespace inkwell;
    return guarded([&] {
        if (out_count == nullptr) invalid_argument("out_count is null");
        *out_count = 0;
        const cuda_backend::Table& backend = load_cuda_backend();
        int32_t count = 0;
        const int32_t status = backend.device_count(&count);
        if (status != INKWELL_OK) {
            const char* message = backend.last_error();
            throw Error(static_cast<inkwell_status>(status), message ? message : "CUDA: unknown error");
        }
        *out_count = count;
    });
}
