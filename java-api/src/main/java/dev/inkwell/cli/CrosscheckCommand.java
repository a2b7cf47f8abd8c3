package dev.inkwell.cli;

import dev.inkwell.Inkwell;
import java.io.PrintStream;
import java.util.Random;
import java.util.Set;

/**
 * {@code inkwell crosscheck --device cuda}: every public kernel, on seeded random inputs, on
 * the device and on a one-thread CPU context through the Java API, compared (see
 * {@link CrosscheckCases} for what must match to the bit and the bounds of the rest).
 */
final class CrosscheckCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell crosscheck [--device cpu|cuda] [--threads N] [--seed N] [--filter TEXT] [--bounds]

                Runs every kernel (Canny, blur, resize, conv2d and attention in float32/float16/bfloat16,
                the DDIM step, add_noise, randn, resampling, PSNR, SSIM, and the layers: group_norm,
                layer_norm, linear, GEGLU, activations, timestep embedding, add, cat, transpose,
                max_pool2d) on seeded random inputs twice: on the device (inputs copied to its memory,
                results copied back) and on a one-thread CPU context. Prints one line per case and exits
                with 1 if any differs: Canny, blur, resize, randn, resampling, PSNR, DDIM, add_noise,
                add, cat, transpose and max_pool2d must match bit for bit; conv2d, attention, SSIM and
                the other layers within a bound derived from the inputs (the summation order and the
                device's libm differ). With
                --device cpu (the default) everything must match bit for bit: the CPU kernels give the
                same bits for any thread count.
                  --threads N    threads of the CPU device under test (default: all)
                  --seed N       seed of the random inputs (default 1)
                  --filter TEXT  only cases whose name contains TEXT
                  --bounds       hold a CPU device to the cross-device bounds too (tests the check)""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        Args args = Args.parse("crosscheck", argv, Set.of("--device", "--threads", "--seed", "--filter"),
                Set.of("--bounds"));
        args.positional();
        int seed = args.integer("--seed", 1);
        String filter = args.string("--filter", "");
        int passed = 0, failed = 0;
        try (Inkwell device = Inkwell.builder().device(args.device()).threads(args.integer("--threads", 0)).build();
                Inkwell cpu = Inkwell.builder().threads(1).build()) {
            out.printf("crosscheck: %s (%d threads) against the CPU (1 thread), seed %d%n", device.device(),
                    device.threads(), seed);
            CrosscheckCases cases = new CrosscheckCases(device, cpu, args.flag("--bounds"));
            int index = 0;
            for (CrosscheckCases.Named c : cases.all()) {
                index++;
                if (!c.name().contains(filter)) {
                    continue;
                }
                CrosscheckCases.Result r;
                long start = System.nanoTime();
                try (CrosscheckCases.Scope scope = new CrosscheckCases.Scope()) {
                    r = c.body().run(new Random(seed * 1_000_003L + index), scope);
                } catch (RuntimeException e) { // e.g. a kernel this device does not have: that case fails
                    r = new CrosscheckCases.Result(c.name(), false, "threw " + e);
                }
                double ms = (System.nanoTime() - start) / 1e6;
                out.printf("%s  %-46s %s (%.0f ms)%n", r.passed() ? "PASS" : "FAIL", r.name(), r.detail(), ms);
                if (r.passed()) {
                    passed++;
                } else {
                    failed++;
                }
            }
        }
        out.printf("crosscheck: %d passed, %d failed%n", passed, failed);
        if (passed + failed == 0) {
            err.println("inkwell crosscheck: no case ran" + (filter.isEmpty() ? "" : " (filter '" + filter + "')"));
            return 1;
        }
        return failed == 0 ? 0 : 1;
    }
}
