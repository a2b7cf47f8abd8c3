package dev.inkwell;

import java.util.Random;
import java.util.function.Consumer;

/**
 * Seeded random cases for the property tests: case i of a property draws everything from
 * {@code new Random(seed + i)}, so a failure names the one seed that reproduces it
 * ({@code -Dinkwell.cases.seed=S -Dinkwell.cases.count=1} reruns just that case). Draws lean
 * towards the edges of each range, where the bugs are.
 */
final class RandomCases {
    private RandomCases() {}

    /** Runs {@code count} cases (-Dinkwell.cases.count overrides) from the base seed (-Dinkwell.cases.seed). */
    static void check(String property, int count, Consumer<Random> oneCase) {
        long base = Long.getLong("inkwell.cases.seed", 0x1A2B3C4DL);
        int n = Integer.getInteger("inkwell.cases.count", count);
        for (int i = 0; i < n; i++) {
            long seed = base + i;
            try {
                oneCase.accept(new Random(seed));
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError(property + ": case " + i + " failed; rerun it alone with -Dinkwell.cases.seed="
                        + seed + " -Dinkwell.cases.count=1: " + e.getMessage(), e);
            }
        }
    }

    /** An int in [min, max]; one draw in four is min, min + 1, max - 1 or max. */
    static int between(Random rnd, int min, int max) {
        if (rnd.nextInt(4) == 0) {
            int[] edges = {min, Math.min(min + 1, max), Math.max(max - 1, min), max};
            return edges[rnd.nextInt(edges.length)];
        }
        return min + rnd.nextInt(max - min + 1);
    }

    /** One of the values, uniformly. */
    @SafeVarargs
    static <T> T oneOf(Random rnd, T... values) {
        return values[rnd.nextInt(values.length)];
    }
}
