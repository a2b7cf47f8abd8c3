package dev.inkwell.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs JMH with the usual command line (what {@code org.openjdk.jmh.Main} takes), prints
 * JMH's own table, then a summary with what the times mean: GFLOP/s and % of the measured
 * FMA peak for conv2d and attention, GFLOP/s for linear and GEGLU, GB/s for the norms, the
 * DDIM step and the copy, Mpixel/s for
 * Canny and the Gaussian blur, and each anchor's time relative to Inkwell's. Benchmarks whose setup failed (an
 * anchor or Inkwell kernel missing here) are listed as unavailable.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp benchmarks.jar dev.inkwell.benchmarks.Report [JMH options] [regex]</pre>
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions cmd = new CommandLineOptions(args);
        if (cmd.shouldHelp() || cmd.shouldList() || cmd.shouldListWithParams() || cmd.shouldListProfilers()
                || cmd.shouldListResultFormats()) {
            org.openjdk.jmh.Main.main(args);
            return;
        }
        Collection<RunResult> results = new Runner(cmd).run();
        System.out.println();
        System.out.print(summarize(results));
        List<String> missing = missing(results, cmd.getIncludes(), cmd.getExcludes());
        if (!missing.isEmpty()) {
            System.out.println("No result at all (setup failed or unavailable; see the log above): " + String.join(", ", missing));
        }
        boolean strict = Boolean.getBoolean("inkwell.bench.strict");
        if (strict && (!missing.isEmpty() || hasGaps(results))) {
            System.out.println("inkwell-bench: FAILED: some benchmarks did not run (strict mode)");
            System.exit(1);
        }
    }

    /** The benchmark classes of this suite, for what a run was expected to produce. */
    static final List<Class<?>> SUITE = List.of(CannyBenchmark.class, GaussianBlurBenchmark.class, Conv2dBenchmark.class,
            AttentionBenchmark.class,
            LayersBenchmark.class, BlocksBenchmark.class, DdimBenchmark.class, FfmCallBenchmark.class, PeakFlopsBenchmark.class);

    /** Benchmark methods the include/exclude patterns select that produced no result for any params. */
    static List<String> missing(Collection<RunResult> results, List<String> includes, List<String> excludes) {
        Set<String> got = new LinkedHashSet<>();
        for (RunResult r : results) {
            got.add(r.getParams().getBenchmark());
        }
        List<String> out = new ArrayList<>();
        for (Class<?> c : SUITE) {
            for (java.lang.reflect.Method m : c.getDeclaredMethods()) {
                if (!m.isAnnotationPresent(org.openjdk.jmh.annotations.Benchmark.class)) {
                    continue;
                }
                String name = c.getName() + "." + m.getName();
                boolean included = includes.isEmpty() || includes.stream().anyMatch(p -> java.util.regex.Pattern.compile(p).matcher(name).find());
                boolean excluded = excludes.stream().anyMatch(p -> java.util.regex.Pattern.compile(p).matcher(name).find());
                if (included && !excluded && !got.contains(name)) {
                    out.add(c.getSimpleName() + "." + m.getName());
                }
            }
        }
        return out;
    }

    /** Whether some method ran for some params but not for others. */
    static boolean hasGaps(Collection<RunResult> results) {
        Map<String, Set<String>> methodsByParams = new TreeMap<>();
        Map<String, Set<String>> methodsByClass = new TreeMap<>();
        for (RunResult r : results) {
            String name = r.getParams().getBenchmark();
            String cls = name.substring(0, name.lastIndexOf('.'));
            methodsByClass.computeIfAbsent(cls, k -> new java.util.TreeSet<>()).add(name);
            StringBuilder key = new StringBuilder(cls);
            for (String p : r.getParams().getParamsKeys()) {
                key.append(' ').append(p).append('=').append(r.getParams().getParam(p));
            }
            methodsByParams.computeIfAbsent(key.toString(), k -> new java.util.TreeSet<>()).add(name);
        }
        for (Map.Entry<String, Set<String>> e : methodsByParams.entrySet()) {
            String cls = e.getKey().split(" ")[0];
            if (!e.getValue().equals(methodsByClass.get(cls))) {
                return true;
            }
        }
        return false;
    }

    /** One benchmark method's result, with the parts the summary needs. */
    record Row(String family, String method, Map<String, String> params, int threads, double seconds, double score,
            double error, String unit) {
        String paramKey() {
            return params.toString();
        }
    }

    static String summarize(Collection<RunResult> results) {
        List<Row> rows = new ArrayList<>();
        for (RunResult r : results) {
            BenchmarkParams p = r.getParams();
            String name = p.getBenchmark();
            String simple = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            String family = simple.substring(0, simple.indexOf('.'));
            String method = simple.substring(simple.indexOf('.') + 1);
            Map<String, String> params = new TreeMap<>();
            for (String key : p.getParamsKeys()) {
                params.put(key, p.getParam(key));
            }
            double score = r.getPrimaryResult().getScore();
            String unit = r.getPrimaryResult().getScoreUnit();
            rows.add(new Row(family, method, params, p.getThreads(), score * secondsPer(unit), score,
                    r.getPrimaryResult().getScoreError(), unit));
        }
        if (rows.isEmpty()) {
            return "inkwell-bench: no results (every benchmark failed or none matched)\n";
        }
        double peak = peakGflops(rows);
        StringBuilder out = new StringBuilder();
        out.append("Inkwell benchmark summary (").append(BenchThreads.count()).append(" threads for every library");
        out.append(Double.isNaN(peak) ? "" : String.format(Locale.ROOT, "; FMA peak, all threads: %.1f GFLOP/s", peak));
        out.append(")\n");
        out.append(String.format(Locale.ROOT, "%-44s %-40s %26s %24s %10s%n", "Benchmark", "Params", "Time",
                "Throughput", "vs Inkwell"));
        Map<String, List<Row>> byFamily = new LinkedHashMap<>();
        for (Row row : rows) {
            byFamily.computeIfAbsent(row.family(), f -> new ArrayList<>()).add(row);
        }
        for (Map.Entry<String, List<Row>> family : byFamily.entrySet()) {
            Set<String> methods = new LinkedHashSet<>();
            Map<String, Map<String, Row>> byParams = new LinkedHashMap<>();
            for (Row row : family.getValue()) {
                methods.add(row.method());
                byParams.computeIfAbsent(row.paramKey(), k -> new LinkedHashMap<>()).put(row.method(), row);
            }
            for (Map<String, Row> group : byParams.values()) {
                Row inkwell = group.get("inkwell");
                String paramText = group.values().iterator().next().params().toString().replaceAll("[{}]", "");
                for (String method : methods) {
                    Row row = group.get(method);
                    String label = family.getKey() + "." + method;
                    if (row == null) {
                        out.append(String.format(Locale.ROOT, "%-44s %-40s %s%n", label, paramText,
                                "unavailable (setup failed: see the log above)"));
                        continue;
                    }
                    String time = Double.isNaN(row.error())
                            ? String.format(Locale.ROOT, "%.3f %s", row.score(), row.unit())
                            : String.format(Locale.ROOT, "%.3f ± %.3f %s", row.score(), row.error(), row.unit());
                    String vs = "";
                    if (inkwell != null && row != inkwell) {
                        vs = String.format(Locale.ROOT, "%.2fx", row.seconds() / inkwell.seconds());
                    }
                    out.append(String.format(Locale.ROOT, "%-44s %-40s %26s %24s %10s%n", label, paramText, time,
                            throughput(row, peak), vs));
                }
            }
        }
        out.append("vs Inkwell: the anchor's time / Inkwell's (above 1: Inkwell is faster).\n");
        return out.toString();
    }

    private static String throughput(Row row, double peak) {
        Map<String, String> p = row.params();
        switch (row.family()) {
            case "Conv2dBenchmark" -> {
                return flopRate(Conv2dBenchmark.Shape.parse(p.get("conv")).flops() / row.seconds(), peak);
            }
            case "AttentionBenchmark" -> {
                return flopRate(AttentionBenchmark.flops(Integer.parseInt(p.get("headDim")), Integer.parseInt(p.get("seqLen")),
                        p.get("kind")) / row.seconds(), peak);
            }
            case "PeakFlopsBenchmark" -> {
                return String.format(Locale.ROOT, "%.1f GFLOP/s", PeakFlopsBenchmark.flopsPerCall() * row.threads()
                        / row.seconds() / 1e9);
            }
            case "LayersBenchmark" -> {
                return LayersBenchmark.Layer.parse(p.get("layer")).rate(row.seconds());
            }
            case "DdimBenchmark" -> {
                return String.format(Locale.ROOT, "%.1f GB/s", DdimBenchmark.trafficBytes(p.get("latent")) / row.seconds() / 1e9);
            }
            case "CannyBenchmark", "GaussianBlurBenchmark" -> {
                String[] wh = p.get("size").split("x");
                double pixels = Double.parseDouble(wh[0]) * Double.parseDouble(wh[1]);
                return String.format(Locale.ROOT, "%.0f Mpixel/s", pixels / row.seconds() / 1e6);
            }
            default -> {
                return "";
            }
        }
    }

    private static String flopRate(double flopsPerSecond, double peak) {
        double g = flopsPerSecond / 1e9;
        return Double.isNaN(peak) ? String.format(Locale.ROOT, "%.1f GFLOP/s", g)
                : String.format(Locale.ROOT, "%.1f GFLOP/s (%.0f%%)", g, 100 * g / peak);
    }

    /** The all-threads FMA peak: from this run's PeakFlopsBenchmark, else measured here briefly. */
    private static double peakGflops(List<Row> rows) {
        boolean needed = false;
        for (Row row : rows) {
            if (row.family().equals("PeakFlopsBenchmark") && row.method().equals("allThreads")) {
                return PeakFlopsBenchmark.flopsPerCall() * row.threads() / row.seconds() / 1e9;
            }
            needed |= row.family().equals("Conv2dBenchmark") || row.family().equals("AttentionBenchmark");
        }
        if (!needed) {
            return Double.NaN;
        }
        try {
            return quickPeak(BenchThreads.count());
        } catch (Throwable t) {
            System.out.println("inkwell-bench: no FMA peak (" + t + "); % of peak left out");
            return Double.NaN;
        }
    }

    /**
     * The FMA kernel on n threads in 6 windows of 100 ms; the best window's GFLOP/s (a shared or
     * throttled machine only ever makes a window slower).
     */
    static double quickPeak(int threads) throws Exception {
        BenchNative.require();
        long iterations = PeakFlopsBenchmark.ITERATIONS / 8;
        Runnable call = () -> {
            try {
                float ignored = (float) BenchNative.FMA_CRITICAL.invokeExact(iterations, 1.0f);
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        };
        for (int i = 0; i < 50; i++) {
            call.run(); // warm up
        }
        double best = 0;
        for (int round = 0; round < 6; round++) {
            long[] calls = new long[threads];
            Thread[] workers = new Thread[threads];
            long start = System.nanoTime();
            long deadline = start + 100_000_000L;
            for (int t = 0; t < threads; t++) {
                int id = t;
                workers[t] = new Thread(() -> {
                    while (System.nanoTime() < deadline) {
                        call.run();
                        calls[id]++;
                    }
                });
                workers[t].start();
            }
            for (Thread w : workers) {
                w.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long total = 0;
            for (long c : calls) {
                total += c;
            }
            best = Math.max(best, total * (double) BenchNative.fmaFlops(iterations) / seconds / 1e9);
        }
        System.out.printf(Locale.ROOT, "inkwell-bench: FMA peak measured here (no PeakFlopsBenchmark in this run): %.1f GFLOP/s%n",
                best);
        return best;
    }

    private static double secondsPer(String unit) {
        String u = unit.substring(0, unit.indexOf('/'));
        return switch (u) {
            case "ns" -> 1e-9;
            case "us" -> 1e-6;
            case "ms" -> 1e-3;
            case "s" -> 1;
            case "min" -> 60;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + unit);
        };
    }
}
