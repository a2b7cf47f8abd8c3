package dev.inkwell.cli.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The memory speed limit next to the memory-bound cases: one MemorySegment copy that moves
 * as many bytes as the kernel must (a copy of b bytes reads b and writes b). The DDIM step
 * reads 3 latents and writes 1: a copy of 2 latents. A norm reads x and writes y: a copy of
 * x. Its ratio in the table (copy time / Inkwell time) is then Inkwell's fraction of copy
 * bandwidth. Needs no library, so it is always there.
 */
final class MemcpyAnchor implements AnchorProvider {
    private final Arena arena = Arena.ofAuto();

    @Override
    public String name() {
        return "memcpy";
    }

    @Override
    public String load(int threads) {
        return "MemorySegment.copy of the bytes a memory-bound case moves (DDIM: 2 latents; norms: x), 1 thread";
    }

    @Override
    public Runnable prepare(BenchSpec spec) {
        long floats = switch (spec) {
            case BenchSpec.DdimStep d -> 2L * d.sample().length;
            case BenchSpec.GroupNorm g -> g.input().length;
            case BenchSpec.LayerNorm l -> l.input().length;
            default -> 0;
        };
        if (floats == 0) {
            return null;
        }
        long bytes = floats * Float.BYTES;
        MemorySegment src = arena.allocate(bytes, 64), dst = arena.allocate(bytes, 64);
        src.fill((byte) 1);
        return () -> MemorySegment.copy(src, 0, dst, 0, bytes);
    }
}
