package dev.inkwell.models;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * A whole file as a native segment: on Linux a private, copy-on-write memory map (POSIX
 * {@code mmap(PROT_READ | PROT_WRITE, MAP_PRIVATE)} through the FFM linker), elsewhere a copy
 * read into the arena.
 *
 * <p>Why not {@link FileChannel#map}: a read-only mapping gives a read-only segment, which
 * {@code Tensor.wrap} refuses (kernels may write to their tensors), and a private mapping
 * needs a channel open for writing, which a read-only checkpoint (or a read-only mount) does
 * not allow. A private mapping of a read-only descriptor is writable memory whose writes stay
 * in this process: the file never changes, and pages are shared with the page cache until
 * written. The mapping is undone (munmap) when the arena closes.
 *
 * <p>As with any memory map, the file must not be truncated while mapped: reading a page that
 * no longer exists raises SIGBUS.
 */
final class FileMapping {
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000; // Linux, x86-64 and aarch64 alike
    private static final int SEEK_END = 2;
    private static final int PROT_READ = 1, PROT_WRITE = 2;
    private static final int MAP_PRIVATE = 2, MAP_NORESERVE = 0x4000; // no swap reserved for pages never written
    private static final long MAP_FAILED = -1L;
    private static final int ENODEV = 19; // mmap: the file system does not support memory mapping

    /** Null when not on Linux or a symbol is missing: the read fallback is used. */
    private static final Posix POSIX = Posix.load();

    private FileMapping() {}

    /**
     * The bytes of {@code file}, valid until {@code arena} closes.
     *
     * @param file a regular file
     * @param arena owns the mapping (or the copy)
     * @return a writable native segment of the file's size
     * @throws IOException if the file cannot be opened, sized or mapped
     */
    static MemorySegment map(Path file, Arena arena) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": " + (Files.exists(file) ? "not a regular file" : "no such file"));
        }
        if (POSIX != null) {
            MemorySegment mapped = POSIX.map(file, arena);
            if (mapped != null) {
                return mapped;
            }
        }
        return read(file, arena);
    }

    /** The fallback: the whole file copied into native memory of the arena. */
    private static MemorySegment read(Path file, Arena arena) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            MemorySegment memory = arena.allocate(Math.max(size, 1), 64).asSlice(0, size);
            long done = 0;
            while (done < size) {
                long chunk = Math.min(size - done, 1L << 30);
                int n = channel.read(memory.asSlice(done, chunk).asByteBuffer(), done);
                if (n < 0) {
                    throw new IOException(file + ": ended after " + done + " of " + size + " bytes while reading");
                }
                done += n;
            }
            return memory;
        }
    }

    /** The libc functions, bound once. */
    private record Posix(MethodHandle open, MethodHandle lseek, MethodHandle mmap, MethodHandle munmap,
            MethodHandle close, StructLayout callState, VarHandle errno) {

        static Posix load() {
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                StructLayout state = Linker.Option.captureStateLayout();
                ValueLayout.OfInt i32 = ValueLayout.JAVA_INT;
                ValueLayout.OfLong i64 = ValueLayout.JAVA_LONG;
                return new Posix(
                        // int open(const char *path, int flags, ...): mode passed as the variadic int
                        linker.downcallHandle(libc.find("open").orElseThrow(),
                                FunctionDescriptor.of(i32, ValueLayout.ADDRESS, i32, i32),
                                Linker.Option.firstVariadicArg(2), errno),
                        linker.downcallHandle(libc.find("lseek").orElseThrow(), FunctionDescriptor.of(i64, i32, i64, i32),
                                errno),
                        linker.downcallHandle(libc.find("mmap").orElseThrow(),
                                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, i64, i32, i32, i32, i64),
                                errno),
                        linker.downcallHandle(libc.find("munmap").orElseThrow(),
                                FunctionDescriptor.of(i32, ValueLayout.ADDRESS, i64)),
                        linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(i32, i32)),
                        state,
                        state.varHandle(MemoryLayout.PathElement.groupElement("errno")));
            } catch (RuntimeException e) {
                return null; // no such symbol or linker: read the files instead
            }
        }

        /** The private mapping, or null where the file system cannot map files. */
        MemorySegment map(Path file, Arena arena) throws IOException {
            try (Arena local = Arena.ofConfined()) {
                MemorySegment state = local.allocate(callState);
                int fd = (int) open.invokeExact(state, local.allocateFrom(file.toAbsolutePath().toString()),
                        O_RDONLY | O_CLOEXEC, 0);
                if (fd < 0) {
                    throw new IOException(file + ": cannot open (errno " + errno(state) + ")");
                }
                try {
                    long size = (long) lseek.invokeExact(state, fd, 0L, SEEK_END);
                    if (size < 0) {
                        throw new IOException(file + ": cannot find its size (errno " + errno(state) + ")");
                    }
                    if (size == 0) {
                        return arena.allocate(1).asSlice(0, 0); // mmap refuses length 0; nothing to map
                    }
                    MemorySegment address = (MemorySegment) mmap.invokeExact(state, MemorySegment.NULL, size,
                            PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0L);
                    if (address.address() == MAP_FAILED && errno(state) == ENODEV) {
                        return null; // a file system that cannot map files: read it instead
                    }
                    if (address.address() == MAP_FAILED) {
                        throw new IOException(file + ": cannot map its " + size + " bytes (errno " + errno(state)
                                + ")");
                    }
                    long base = address.address();
                    return address.reinterpret(size, arena, unused -> unmap(base, size));
                } finally {
                    int ignored = (int) close.invokeExact(fd); // the mapping keeps the file open itself
                }
            } catch (IOException | RuntimeException | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException("libc call failed", t); // invokeExact's signature; not reached
            }
        }

        private int errno(MemorySegment state) {
            return (int) errno.get(state, 0L);
        }

        private void unmap(long base, long size) {
            try {
                int ignored = (int) munmap.invokeExact(MemorySegment.ofAddress(base), size);
            } catch (Throwable t) {
                // munmap of a range we mapped cannot fail; nothing useful to do in a cleanup action
            }
        }
    }
}
