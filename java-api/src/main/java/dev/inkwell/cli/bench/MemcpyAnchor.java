package dev.inkwell.cli.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The memory speed limit next to the DDIM step: one MemorySegment copy of as many bytes as
 * the step moves (3 latents read + 1 written = 2 latents copied). Needs no library, so it is
 * always there.
 */
final class MemcpyAnchor implements AnchorProvider {
    private final Arena arena = Arena.ofAuto();

    @Override
    public String name() {
        return "memcpy";
    }

    @Override
    public String load(int threads) {
        return "MemorySegment.copy of the DDIM step's bytes (2 latents), 1 thread";
    }

    @Override
    public Runnable prepare(BenchSpec spec) {
        if (!(spec instanceof BenchSpec.DdimStep d)) {
            return null;
        }
        long bytes = 2L * d.sample().length * Float.BYTES;
        MemorySegment src = arena.allocate(bytes, 64), dst = arena.allocate(bytes, 64);
        src.fill((byte) 1);
        return () -> MemorySegment.copy(src, 0, dst, 0, bytes);
    }
}
