package dev.inkwell.cli;

import dev.inkwell.cli.bench.BenchRunner;
import java.io.PrintStream;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** {@code inkwell bench}: Inkwell next to the anchors, in one run, as a table or JSON. */
final class BenchCommand implements Main.Command {
    @Override
    public String help() {
        return """
                usage: inkwell bench [--full] [--filter REGEX] [--runs N] [--warmup N] [--threads N] [--json] [--anchors]

                Times every kernel next to what a JVM user would run instead, in this process, on the same
                inputs and thread count: OpenCV (Imgproc.Canny) and BoofCV for Canny, OpenCV
                (Imgproc.GaussianBlur) for the Gaussian blur, libtorch (JavaCPP) for
                conv2d, attention (scaled_dot_product_attention), the DDIM step as tensor ops, linear, GEGLU
                (linear, chunk, a * gelu(gate), as diffusers runs it), group_norm and layer_norm, a memory
                copy of the bytes the DDIM step and the norms move, a JNI call next to an FFM one. Prints a
                progress line per case on stderr, then a table: median times, GFLOP/s or GB/s (memory-bound
                rows also as % of the copy's bandwidth), and each anchor's time with its ratio to Inkwell's
                (above 1: Inkwell is faster), with the machine it ran on.

                The default pass (the common shapes of each kernel family, the SD 1.5 layer shapes included)
                takes about two minutes on 2 cores with the anchors, as the README says; --full adds 4K Canny,
                more blurs, every U-Net conv2d level and 1x1, and 4096-token attention. Anchors are
                optional: their libraries come with benchmarks/target/benchmarks.jar, which the ./inkwell
                launcher puts on the class path when it exists (--anchors builds it); without it the table
                says which are absent.

                  --filter REGEX   only cases whose name matches (e.g. 'canny|conv2d')
                  --runs N         timed samples per case and library (default 7)
                  --warmup N       untimed calls first (default 2)
                  --threads N      threads for every library (default: all hardware threads)
                  --json           the results as JSON on stdout (progress stays on stderr)
                  --anchors        (./inkwell launcher) build the anchors jar first when it is missing

                An anchor that cannot load says "failed to load", one that throws on a case "failed [n]"
                with the reason under the table; the run goes on. Times are medians per call.""";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        Args args = Args.parse("bench", argv, Set.of("--filter", "--runs", "--warmup", "--threads"),
                Set.of("--full", "--json", "--anchors", "--tiny"));
        if (!args.positional().isEmpty()) {
            throw args.usage("takes no positional arguments, got " + args.positional());
        }
        Pattern filter = null;
        String regex = args.string("--filter", null);
        if (regex != null) {
            try {
                filter = Pattern.compile(regex);
            } catch (PatternSyntaxException e) {
                throw args.usage("--filter is not a regular expression: " + e.getDescription());
            }
        }
        int runs = args.integer("--runs", 7), warmup = args.integer("--warmup", 2), threads = args.integer("--threads", 0);
        if (runs < 1 || warmup < 0 || threads < 0) {
            throw args.usage("--runs must be >= 1, --warmup and --threads >= 0; got " + runs + ", " + warmup + ", " + threads);
        }
        // --anchors is the launcher's (it builds the anchors jar); --tiny is the tests' small set.
        return BenchRunner.run(new BenchRunner.Options(args.flag("--full"), args.flag("--tiny"), filter, runs, warmup,
                threads, args.flag("--json")), out, err);
    }
}
