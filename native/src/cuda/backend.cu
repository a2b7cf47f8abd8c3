// The CUDA backend's entry point (inkwell_cuda_backend_v4) and its table: device discovery,
// per-context state (device, stream), memory and copies, and thin wrappers that turn the
// launchers' exceptions into a status and a thread-local message. See backend.hpp.
#include <cstring>
#include <new>

#include "cuda_common.cuh"

namespace inkwell::cuda {

namespace {

thread_local std::string last_error;

void set_last_error(const char* message) noexcept {
    try {
        last_error = message;
    } catch (...) {
    }
}

template <class Body>
int32_t guarded(Body&& body) noexcept {
    try {
        body();
        return INKWELL_OK;
    } catch (const Failure& e) {
        set_last_error(e.what());
        return e.status();
    } catch (const std::bad_alloc&) {
        set_last_error("out of host memory");
        return INKWELL_OUT_OF_MEMORY;
    } catch (const std::exception& e) {
        set_last_error(e.what());
        return INKWELL_INTERNAL_ERROR;
    } catch (...) {
        set_last_error("unknown internal error");
        return INKWELL_INTERNAL_ERROR;
    }
}

// The driver's answer: a failure here means no usable driver (or none at all).
int device_count_or_fail() {
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        cudaGetLastError();  // not sticky, but leave nothing behind
        fail(INKWELL_UNSUPPORTED, std::string("CUDA driver: ") + cudaGetErrorString(e));
    }
    if (count == 0) fail(INKWELL_UNSUPPORTED, "no CUDA device");
    return count;
}

State& state_of(void* state) { return *static_cast<State*>(state); }

// Every call makes the context's device current on the calling thread and holds its lock.
template <class Body>
int32_t on_device(void* state, Body&& body) noexcept {
    return guarded([&] {
        State& s = state_of(state);
        std::lock_guard<std::mutex> lock(s.mutex);
        check(cudaSetDevice(s.device), "cudaSetDevice");
        body(s);
    });
}

const char* table_last_error() { return last_error.c_str(); }

int32_t table_device_count(int32_t* out_count) {
    return guarded([&] { *out_count = device_count_or_fail(); });
}

int32_t table_create(int32_t device_index, void** out_state) {
    return guarded([&] {
        const int count = device_count_or_fail();
        if (device_index < 0 || device_index >= count)
            fail(INKWELL_INVALID_ARGUMENT, "device_index " + std::to_string(device_index) + " but there are " +
                                               std::to_string(count) + " CUDA devices");
        auto state = new State();
        try {
            state->device = device_index;
            check(cudaSetDevice(device_index), "cudaSetDevice");
            check(cudaDeviceGetAttribute(&state->sm_count, cudaDevAttrMultiProcessorCount, device_index),
                  "cudaDeviceGetAttribute(SM count)");
            check(cudaDeviceGetAttribute(&state->max_shared_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                         device_index),
                  "cudaDeviceGetAttribute(shared memory)");
            int cooperative = 0;
            check(cudaDeviceGetAttribute(&cooperative, cudaDevAttrCooperativeLaunch, device_index),
                  "cudaDeviceGetAttribute(cooperative launch)");
            state->cooperative = cooperative != 0;
            check(cudaStreamCreateWithFlags(&state->stream, cudaStreamNonBlocking), "cudaStreamCreate");
        } catch (...) {
            delete state;
            throw;
        }
        *out_state = state;
    });
}

void table_destroy(void* state) {
    if (state == nullptr) return;
    State* s = static_cast<State*>(state);
    // Errors are ignored here: there is no one left to report them to.
    if (cudaSetDevice(s->device) == cudaSuccess) {
        if (s->stream != nullptr) {
            cudaStreamSynchronize(s->stream);
            cudaStreamDestroy(s->stream);
        }
        if (s->scratch != nullptr) cudaFree(s->scratch);
    }
    cudaGetLastError();
    delete s;
}

int32_t table_device_alloc(void* state, int64_t bytes, void** out_pointer) {
    return on_device(state, [&](State&) {
        void* p = nullptr;
        check(cudaMalloc(&p, size_t(bytes)), "cudaMalloc");
        *out_pointer = p;
    });
}

int32_t table_device_free(void* state, void* pointer) {
    return on_device(state, [&](State& s) {
        // cudaFree synchronises the device anyway; finishing our stream first keeps a
        // kernel still reading the buffer from seeing it freed.
        check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize");
        check(cudaFree(pointer), "cudaFree");
    });
}

int32_t table_host_alloc_pinned(void* state, int64_t bytes, void** out_pointer) {
    return on_device(state, [&](State&) {
        void* p = nullptr;
        check(cudaMallocHost(&p, size_t(bytes)), "cudaMallocHost");
        *out_pointer = p;
    });
}

int32_t table_host_free_pinned(void* state, void* pointer) {
    return on_device(state, [&](State& s) {
        check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize");
        check(cudaFreeHost(pointer), "cudaFreeHost");
    });
}

int32_t table_copy(void* state, void* dst, const void* src, int64_t bytes, int32_t kind) {
    return on_device(state, [&](State& s) {
        check(cudaMemcpyAsync(dst, src, size_t(bytes), static_cast<cudaMemcpyKind>(kind), s.stream),
              "cudaMemcpyAsync");
        check(cudaStreamSynchronize(s.stream), "cudaMemcpy (on the context's stream)");
    });
}

int32_t table_synchronize(void* state) {
    return on_device(state, [&](State& s) { check(cudaStreamSynchronize(s.stream), "cudaStreamSynchronize"); });
}

int32_t table_ddim_step(void* state, const inkwell_ddim_step_params* p, const cuda_backend::DdimCoefficients* k) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->sample, "ddim_step: sample");
        require_device_pointer(s, p->model_output, "ddim_step: model_output");
        require_device_pointer(s, p->model_output_uncond, "ddim_step: model_output_uncond");
        require_device_pointer(s, p->noise, "ddim_step: noise");  // null unless eta > 0 (the core)
        require_device_pointer(s, p->prev_sample, "ddim_step: prev_sample");
        require_device_pointer(s, p->pred_original_sample, "ddim_step: pred_original_sample");
        ddim_step(s, *p, *k);
    });
}

int32_t table_add_noise(void* state, const inkwell_add_noise_params* p, float sqrt_a, float sqrt_b) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->original, "add_noise: original");
        require_device_pointer(s, p->noise, "add_noise: noise");
        require_device_pointer(s, p->out, "add_noise: out");
        add_noise(s, *p, sqrt_a, sqrt_b);
    });
}

int32_t table_canny(void* state, const cuda_backend::CannyArgs* a) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, a->src, "canny: src.data");
        require_device_pointer(s, a->dst, "canny: dst.data");
        canny(s, *a);
    });
}

int32_t table_conv2d(void* state, const inkwell_conv2d_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "conv2d: input");
        require_device_pointer(s, p->weight, "conv2d: weight");
        require_device_pointer(s, p->bias, "conv2d: bias");
        require_device_pointer(s, p->output, "conv2d: output");
        conv2d(s, *p, element_type);
    });
}

int32_t table_attention(void* state, const inkwell_attention_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->q, "attention: q");
        require_device_pointer(s, p->k, "attention: k");
        require_device_pointer(s, p->v, "attention: v");
        require_device_pointer(s, p->out, "attention: out");  // kv_lens is host memory
        attention(s, *p, element_type);
    });
}

int32_t table_gaussian_blur(void* state, const cuda_backend::BlurArgs* a) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, a->src, "gaussian_blur: src.data");
        require_device_pointer(s, a->dst, "gaussian_blur: dst.data");
        gaussian_blur(s, *a);
    });
}

int32_t table_randn(void* state, const inkwell_randn_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->out, "randn: out");
        randn(s, *p);
    });
}

int32_t table_resample(void* state, const inkwell_resample_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "resample: input");
        require_device_pointer(s, p->output, "resample: output");
        resample(s, *p);
    });
}

int32_t table_upsample_nearest2d(void* state, const inkwell_upsample_nearest2d_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "upsample_nearest2d: input");
        require_device_pointer(s, p->output, "upsample_nearest2d: output");
        upsample_nearest2d(s, *p, element_type);
    });
}

int32_t table_psnr(void* state, const inkwell_image_metric_params* p, double* out) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->reference.data, "psnr: reference.data");
        require_device_pointer(s, p->test.data, "psnr: test.data");
        *out = psnr(s, *p);
    });
}

int32_t table_ssim(void* state, const inkwell_image_metric_params* p, double* out) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->reference.data, "ssim: reference.data");
        require_device_pointer(s, p->test.data, "ssim: test.data");
        *out = ssim(s, *p);
    });
}

// The layers: every data pointer must be the device's; then the family's launcher.
int32_t table_group_norm(void* state, const inkwell_group_norm_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "group_norm: input");
        require_device_pointer(s, p->weight, "group_norm: weight");
        require_device_pointer(s, p->bias, "group_norm: bias");
        require_device_pointer(s, p->output, "group_norm: output");
        group_norm(s, *p, element_type);
    });
}

int32_t table_layer_norm(void* state, const inkwell_layer_norm_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "layer_norm: input");
        require_device_pointer(s, p->weight, "layer_norm: weight");
        require_device_pointer(s, p->bias, "layer_norm: bias");
        require_device_pointer(s, p->output, "layer_norm: output");
        layer_norm(s, *p, element_type);
    });
}

int32_t table_linear(void* state, const inkwell_linear_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "linear: input");
        require_device_pointer(s, p->weight, "linear: weight");
        require_device_pointer(s, p->bias, "linear: bias");
        require_device_pointer(s, p->output, "linear: output");
        linear(s, *p, element_type);
    });
}

int32_t table_geglu(void* state, const inkwell_geglu_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "geglu: input");
        require_device_pointer(s, p->weight, "geglu: weight");
        require_device_pointer(s, p->bias, "geglu: bias");
        require_device_pointer(s, p->output, "geglu: output");
        geglu(s, *p, element_type);
    });
}

int32_t table_activation(void* state, const inkwell_activation_params* p, int32_t element_type) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "activation: input");
        require_device_pointer(s, p->output, "activation: output");
        activation(s, *p, element_type);
    });
}

int32_t table_timestep_embedding(void* state, const inkwell_timestep_embedding_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->timesteps, "timestep_embedding: timesteps");
        require_device_pointer(s, p->output, "timestep_embedding: output");
        timestep_embedding(s, *p);
    });
}

int32_t table_add(void* state, const inkwell_add_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->a, "add: a");
        require_device_pointer(s, p->b, "add: b");
        require_device_pointer(s, p->out, "add: out");
        add(s, *p);
    });
}

int32_t table_cat(void* state, const inkwell_cat_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->a, "cat: a");
        require_device_pointer(s, p->b, "cat: b");
        require_device_pointer(s, p->out, "cat: out");
        cat(s, *p);
    });
}

int32_t table_transpose(void* state, const inkwell_transpose_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "transpose: input");
        require_device_pointer(s, p->output, "transpose: output");
        transpose(s, *p);
    });
}

int32_t table_max_pool2d(void* state, const inkwell_max_pool2d_params* p) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, p->input, "max_pool2d: input");
        require_device_pointer(s, p->output, "max_pool2d: output");
        max_pool2d(s, *p);
    });
}

int32_t table_resize(void* state, const cuda_backend::ResizeArgs* a) {
    return on_device(state, [&](State& s) {
        require_device_pointer(s, a->src, "resize: src.data");
        require_device_pointer(s, a->dst, "resize: dst.data");
        resize(s, *a);
    });
}

const cuda_backend::Table kTable = {
    cuda_backend::kVersion, sizeof(cuda_backend::Table), table_last_error, table_device_count,
    table_create,           table_destroy,               table_device_alloc, table_device_free,
    table_host_alloc_pinned, table_host_free_pinned,     table_copy,         table_synchronize,
    table_ddim_step,        table_add_noise,             table_canny,        table_conv2d,
    table_attention,        table_gaussian_blur,         table_randn,        table_resample,
    table_psnr,             table_ssim,                  table_group_norm,   table_layer_norm,
    table_linear,           table_geglu,                 table_activation,   table_timestep_embedding,
    table_add,              table_cat,                   table_transpose,    table_max_pool2d,
    table_resize,           table_upsample_nearest2d,
};

}  // namespace

}  // namespace inkwell::cuda

extern "C" __attribute__((visibility("default"))) const inkwell::cuda_backend::Table* inkwell_cuda_backend_v4() {
    return &inkwell::cuda::kTable;
}
