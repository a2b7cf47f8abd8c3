/**
 * Inkwell: ControlNet's preprocessing and diffusion kernels for the JVM, in native code
 * (C++ with SIMD, and CUDA) behind a small Java API.
 *
 * <h2>Start here</h2>
 * {@link dev.inkwell.Inkwell} is the context the kernels run on (its device and worker
 * threads); {@link dev.inkwell.Image} holds 8-bit pixels and {@link dev.inkwell.Tensor}
 * N-d arrays, both in native memory. {@link dev.inkwell.Layers} ({@code inkwell.layers()})
 * and {@link dev.inkwell.TensorOps} ({@code inkwell.ops()}) group the layer kernels;
 * {@link dev.inkwell.DdimScheduler} and {@link dev.inkwell.DdimSampler} the sampling loop.
 *
 * <pre>{@code
 * try (Inkwell inkwell = Inkwell.create();
 *      Image drawing = Image.read(Path.of("drawing.png"));
 *      Image edges = inkwell.canny(drawing)) {
 *     edges.write(Path.of("control.png"));
 * }
 * }</pre>
 *
 * <h2>Native access</h2>
 * The library calls native code through the Foreign Function and Memory API, which Java
 * restricts: start the JVM with {@code --enable-native-access=ALL-UNNAMED} on the class
 * path, or {@code --enable-native-access=dev.inkwell,dev.inkwell.bindings} on the module
 * path (module {@code dev.inkwell}), or put {@code Enable-Native-Access: ALL-UNNAMED} in
 * an executable jar's manifest. The native library for Linux x86-64 is inside the jar and
 * is extracted once per user to a cache keyed by its content; a failure to load it is an
 * {@link dev.inkwell.InkwellException} whose message says why, the missing flag included.
 *
 * <h2>Ownership</h2>
 * Images and tensors either own their memory (the factory methods without an arena, and
 * every result a kernel returns), which {@code close()} frees, or borrow it from the
 * caller's {@link java.lang.foreign.Arena} or segment. Close them with
 * try-with-resources. An owned one that becomes unreachable unclosed is freed by the garbage
 * collector's cleaner and reported once per process as a warning (see
 * {@link dev.inkwell.Image} for this safety net and {@code -Dinkwell.leakDetection}); it is
 * a safety net, not a way of working, since the collector runs when it will. Device memory
 * ({@link dev.inkwell.Tensor#allocate(Inkwell, long...)} and the like) must be freed before
 * its context is closed.
 *
 * <h2>Element types</h2>
 * Tensors hold float32, float16 or bfloat16 ({@link dev.inkwell.ElementType}), contiguous
 * and in C order. Every tensor kernel takes float32; conv2d, attention and the layers of
 * {@link dev.inkwell.Layers} other than the timestep embedding also take float16 and
 * bfloat16, with all tensors of one call of one type: they compute in float32 and round each
 * output once, to nearest even. The DDIM kernels, resampling, {@link dev.inkwell.TensorOps}
 * and the timestep embedding take float32 only. Images are 8-bit, 1 to 4 channels.
 *
 * <h2>Errors</h2>
 * Arguments are checked in Java before any native call, and the message names the
 * operation, the argument and its value: {@link java.lang.IllegalArgumentException} for
 * shapes, types, sizes and aliasing, {@link java.lang.NullPointerException} for nulls,
 * {@link java.lang.IllegalStateException} for closed contexts, images and tensors
 * ("attention: k is closed"). {@link dev.inkwell.InkwellException} carries what only the
 * native side knows, with a {@link dev.inkwell.Status}.
 *
 * <h2>Threads</h2>
 * A context may be shared by any number of threads (its calls run one at a time); images
 * and tensors may be read by many threads at once, but writes must not race with kernels
 * reading them. Every kernel gives the same bits for any thread count.
 */
package dev.inkwell;
