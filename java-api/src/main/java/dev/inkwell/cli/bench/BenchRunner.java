package dev.inkwell.cli.bench;

import dev.inkwell.Inkwell;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.regex.Pattern;

/**
 * Runs {@code inkwell bench}: every selected case with Inkwell and with each anchor in the
 * same process, on the same inputs and thread count, their samples taken in turn (one of each
 * library per round), a progress line per case on {@code progress}, then the table (or JSON)
 * on {@code out}.
 */
public final class BenchRunner {
    /** What to run. {@code tiny} is the test-sized set; {@code full} the whole list. */
    public record Options(boolean full, boolean tiny, Pattern filter, int runs, int warmup, int threads, boolean json) {}

    /** An anchor as the run saw it: loaded (with its description) or not (with why). */
    private record Anchor(String name, AnchorProvider provider, String detail, boolean loaded) {}

    /** One measurement: a timing, or why there is none ("absent", "failed to load", "-", "failed: ..."). */
    private record Cell(Timing timing, String note) {}

    /** The pause before each sample when several libraries take turns (see {@link #settle}). */
    private static final long SETTLE_MS = 150;

    /** What an anchor column says when its library is not on the class path. */
    static final String ABSENT = "absent (./inkwell bench --anchors builds them: benchmarks/target/benchmarks.jar)";

    private BenchRunner() {}

    public static int run(Options o, PrintStream out, PrintStream progress) {
        List<BenchCase> cases = new ArrayList<>();
        BenchCases.Size size = o.tiny() ? BenchCases.Size.TINY : o.full() ? BenchCases.Size.FULL : BenchCases.Size.DEFAULT;
        for (BenchCase c : BenchCases.cases(size)) {
            if (o.filter() == null || o.filter().matcher(c.name()).find()) {
                cases.add(c);
            }
        }
        if (cases.isEmpty()) {
            throw new IllegalArgumentException("no case matches --filter " + o.filter());
        }
        MachineInfo machine = MachineInfo.here();
        try (Inkwell inkwell = Inkwell.builder().threads(o.threads()).build()) {
            int threads = inkwell.threads();
            List<Anchor> anchors = loadAnchors(threads);
            double peak = Double.NaN;
            for (Anchor a : anchors) {
                if (a.loaded() && Double.isNaN(peak)) {
                    peak = a.provider().peakGflops(threads);
                }
            }
            progress.printf("inkwell bench: %d cases, %d threads per library, %d runs after %d warm-up%n", cases.size(),
                    threads, o.runs(), o.warmup());
            progress.println("machine: " + machine.describe());
            for (String line : describe(anchors)) {
                progress.println("anchor " + line);
            }
            List<Map<String, Cell>> results = new ArrayList<>();
            for (int i = 0; i < cases.size(); i++) {
                BenchCase c = cases.get(i);
                Map<String, Cell> row = measure(c, inkwell, anchors, o);
                results.add(row);
                progress.println(progressLine(i + 1, cases.size(), c, row));
            }
            if (o.json()) {
                out.println(json(machine, threads, o, anchors, peak, cases, results));
            } else {
                printTable(out, machine, threads, anchors, peak, cases, results);
            }
            return 0;
        }
    }

    private static List<Anchor> loadAnchors(int threads) {
        List<AnchorProvider> providers = new ArrayList<>();
        providers.add(new MemcpyAnchor());
        ServiceLoader.load(AnchorProvider.class).forEach(providers::add);
        List<Anchor> anchors = new ArrayList<>();
        for (AnchorProvider p : providers) {
            try {
                anchors.add(new Anchor(p.name(), p, p.load(threads), true));
            } catch (Throwable t) { // UnsatisfiedLinkError, NoClassDefFoundError included
                anchors.add(new Anchor(p.name(), p, "could not load: " + oneLine(t), false));
            }
        }
        for (String expected : new String[] {"OpenCV", "BoofCV", "libtorch", "JNI"}) {
            if (anchors.stream().noneMatch(a -> a.name().equals(expected))) {
                anchors.add(new Anchor(expected, null, ABSENT, false));
            }
        }
        return anchors;
    }

    /**
     * Times Inkwell and every anchor on one case. All of them are prepared and calibrated
     * first, then the samples are taken in rounds, one of each library per round, so that a
     * drift of the machine's speed (large on shared machines) reaches all columns alike
     * instead of whichever ran last.
     */
    private static Map<String, Cell> measure(BenchCase c, Inkwell inkwell, List<Anchor> anchors, Options o) {
        Map<String, Cell> row = new LinkedHashMap<>();
        BenchSpec spec = c.spec().get();
        List<AutoCloseable> owned = new ArrayList<>();
        List<AnchorResources> anchorRuns = new ArrayList<>();
        Map<String, Timing.Sampler> samplers = new LinkedHashMap<>();
        try {
            samplers.put("inkwell",
                    Timing.Sampler.calibrate(InkwellRuns.prepare(inkwell, spec, owned), o.warmup(), o.runs()));
            row.put("inkwell", null); // the column order; filled below
            for (Anchor a : anchors) {
                if (!a.loaded()) {
                    row.put(a.name(), new Cell(null, a.provider() == null ? "absent" : "failed to load"));
                    continue;
                }
                try {
                    Runnable run = a.provider().prepare(spec);
                    anchorRuns.add(new AnchorResources(run));
                    if (run == null) {
                        row.put(a.name(), new Cell(null, "-"));
                        continue;
                    }
                    row.put(a.name(), null);
                    samplers.put(a.name(), Timing.Sampler.calibrate(run, o.warmup(), o.runs()));
                } catch (Throwable t) { // an anchor that breaks on one case costs that cell, not the run
                    row.put(a.name(), new Cell(null, "failed: " + oneLine(t)));
                }
            }
            for (int round = 0; round < o.runs(); round++) {
                for (Iterator<Map.Entry<String, Timing.Sampler>> it = samplers.entrySet().iterator(); it.hasNext(); ) {
                    Map.Entry<String, Timing.Sampler> e = it.next();
                    try {
                        if (samplers.size() > 1) {
                            settle();
                        }
                        e.getValue().sample();
                    } catch (RuntimeException | Error t) {
                        if (e.getKey().equals("inkwell")) {
                            throw t;
                        }
                        row.put(e.getKey(), new Cell(null, "failed: " + oneLine(t)));
                        it.remove();
                    }
                }
            }
            for (Map.Entry<String, Timing.Sampler> e : samplers.entrySet()) {
                row.put(e.getKey(), new Cell(e.getValue().result().perOperation(spec.callsPerRun()), null));
            }
        } finally {
            anchorRuns.forEach(AnchorResources::close);
            closeAll(owned);
        }
        return row;
    }

    /**
     * Waits before a sample until the previous library's idle threads have stopped spinning:
     * libtorch's OpenMP and OpenBLAS workers keep polling for tens of milliseconds after a
     * call, and on 2 cores a sample taken at once ran at about half speed (a 1x1 conv2d read
     * 0.52-0.56x libtorch sampled back to back, 0.99x with this pause; Inkwell's own workers
     * spin for 100 microseconds).
     */
    private static void settle() {
        try {
            Thread.sleep(SETTLE_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An anchor's prepared run, freed after the case; a failure to free it loses nothing timed. */
    private record AnchorResources(Runnable run) {
        void close() {
            if (run instanceof AutoCloseable resources) {
                try {
                    resources.close();
                } catch (Exception e) {
                    // freeing an anchor's inputs failed: nothing to time is lost
                }
            }
        }
    }

    /** A throwable and its causes on one line, as short as the table allows. */
    static String oneLine(Throwable t) {
        StringBuilder s = new StringBuilder();
        for (Throwable c = t; c != null && s.length() < 300; c = c.getCause()) {
            s.append(s.isEmpty() ? "" : "; caused by ").append(c.getClass().getSimpleName());
            if (c.getMessage() != null) {
                s.append(": ").append(c.getMessage().lines().findFirst().orElse(""));
            }
        }
        return s.length() > 300 ? s.substring(0, 297) + "..." : s.toString();
    }

    private static void closeAll(List<AutoCloseable> owned) {
        for (AutoCloseable c : owned.reversed()) {
            try {
                c.close();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static String progressLine(int i, int n, BenchCase c, Map<String, Cell> row) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "[%d/%d] %s:", i, n, c.name()));
        double ink = row.get("inkwell").timing().medianMs();
        for (Map.Entry<String, Cell> e : row.entrySet()) {
            Cell cell = e.getValue();
            if (cell.timing() == null) {
                if (cell.note().startsWith("failed: ")) {
                    s.append(' ').append(e.getKey()).append(' ').append(cell.note()).append(',');
                }
                continue;
            }
            s.append(' ').append(e.getKey()).append(' ').append(ms(cell.timing().medianMs()));
            if (!e.getKey().equals("inkwell")) {
                s.append(String.format(Locale.ROOT, " (%.2fx)", cell.timing().medianMs() / ink));
            }
            s.append(',');
        }
        s.setLength(s.length() - 1);
        return s.toString();
    }

    static String ms(double ms) {
        if (ms >= 100) {
            return String.format(Locale.ROOT, "%.0f ms", ms);
        }
        if (ms >= 1) {
            return String.format(Locale.ROOT, "%.2f ms", ms);
        }
        if (ms >= 1e-3) {
            return String.format(Locale.ROOT, "%.2f us", ms * 1e3);
        }
        return String.format(Locale.ROOT, "%.1f ns", ms * 1e6);
    }

    private static void printTable(PrintStream out, MachineInfo machine, int threads, List<Anchor> anchors, double peak,
            List<BenchCase> cases, List<Map<String, Cell>> results) {
        out.println("machine: " + machine.describe());
        out.println("threads: " + threads + " for every library; medians of the runs, taken in turn;"
                + " ratio = anchor time / Inkwell time (above 1: Inkwell is faster)");
        if (!Double.isNaN(peak)) {
            out.printf(Locale.ROOT, "FMA peak: %.1f GFLOP/s (%d threads, measured)%n", peak, threads);
        } else {
            out.println("FMA peak: absent (the JNI anchor's FMA kernel measures it; ./inkwell bench --anchors builds it)");
        }
        List<String> header = new ArrayList<>(List.of("case", "inkwell", "rate"));
        for (Anchor a : anchors) {
            header.add(a.name());
        }
        List<List<String>> rows = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        rows.add(header);
        for (int i = 0; i < cases.size(); i++) {
            BenchCase c = cases.get(i);
            Map<String, Cell> row = results.get(i);
            double ink = row.get("inkwell").timing().medianMs();
            List<String> cells = new ArrayList<>();
            cells.add(c.name());
            cells.add(ms(ink));
            double rate = c.rate(ink);
            String rateText = Double.isNaN(rate) ? "" : String.format(Locale.ROOT, "%.1f %s", rate, c.unit().label);
            if (c.unit() == BenchCase.Unit.GFLOPS && c.name().startsWith("conv2d") && !Double.isNaN(peak)) {
                rateText += String.format(Locale.ROOT, " (%.0f%% of peak)", 100 * rate / peak);
            }
            Cell copy = row.get("memcpy");
            if (c.unit() == BenchCase.Unit.GBPS && copy != null && copy.timing() != null) {
                // the copy moves the case's bytes: its time / Inkwell's is the fraction of copy bandwidth
                rateText += String.format(Locale.ROOT, " (%.0f%% of copy)", 100 * copy.timing().medianMs() / ink);
            }
            cells.add(rateText);
            for (Anchor a : anchors) {
                Cell cell = row.get(a.name());
                if (cell.timing() != null) {
                    cells.add(ms(cell.timing().medianMs())
                            + String.format(Locale.ROOT, " (%.2fx)", cell.timing().medianMs() / ink));
                } else if (cell.note().startsWith("failed: ")) { // the reason goes under the table
                    failures.add(a.name() + " on " + c.name() + ": " + cell.note().substring("failed: ".length()));
                    cells.add("failed [" + failures.size() + "]");
                } else {
                    cells.add(cell.note());
                }
            }
            rows.add(cells);
        }
        int[] width = new int[header.size()];
        for (List<String> r : rows) {
            for (int j = 0; j < r.size(); j++) {
                width[j] = Math.max(width[j], r.get(j).length());
            }
        }
        for (int i = 0; i < rows.size(); i++) {
            StringBuilder line = new StringBuilder();
            for (int j = 0; j < width.length; j++) {
                String cell = rows.get(i).get(j);
                line.append(j == 0 ? String.format("%-" + width[j] + "s", cell) : String.format("  %" + width[j] + "s", cell));
            }
            out.println(line.toString().stripTrailing());
            if (i == 0) {
                out.println("-".repeat(line.length()));
            }
        }
        for (int i = 0; i < failures.size(); i++) {
            out.println("  [" + (i + 1) + "] " + failures.get(i));
        }
        for (String line : describe(anchors)) {
            out.println("  " + line);
        }
    }

    /** One line per anchor ("name: detail"), the absent ones together on one line. */
    private static List<String> describe(List<Anchor> anchors) {
        List<String> lines = new ArrayList<>();
        List<String> absent = new ArrayList<>();
        for (Anchor a : anchors) {
            if (a.provider() == null) {
                absent.add(a.name());
            } else {
                lines.add(a.name() + ": " + a.detail());
            }
        }
        if (!absent.isEmpty()) {
            lines.add(String.join(", ", absent) + ": " + ABSENT);
        }
        return lines;
    }

    private static String json(MachineInfo m, int threads, Options o, List<Anchor> anchors, double peak,
            List<BenchCase> cases, List<Map<String, Cell>> results) {
        StringBuilder s = new StringBuilder("{\n");
        s.append("  \"machine\": {\"cpu\": ").append(quote(m.cpu())).append(", \"cores\": ").append(m.cores())
                .append(", \"hardware_threads\": ").append(m.hardwareThreads()).append(", \"simd\": ")
                .append(quote(m.simd())).append(", \"simd_bits\": ").append(m.simdBits())
                .append(", \"simd_supported\": ").append(quote(m.simdSupported())).append(", \"gpu\": ")
                .append(quote(m.gpu())).append(", \"java\": ").append(quote(m.java())).append("},\n");
        s.append("  \"threads\": ").append(threads).append(", \"runs\": ").append(o.runs()).append(", \"warmup\": ")
                .append(o.warmup()).append(", \"fma_peak_gflops\": ").append(number(peak)).append(",\n");
        s.append("  \"anchors\": [");
        for (int i = 0; i < anchors.size(); i++) {
            Anchor a = anchors.get(i);
            s.append(i == 0 ? "\n" : ",\n").append("    {\"name\": ").append(quote(a.name())).append(", \"loaded\": ")
                    .append(a.loaded()).append(", \"detail\": ").append(quote(a.detail())).append('}');
        }
        s.append("\n  ],\n  \"cases\": [");
        for (int i = 0; i < cases.size(); i++) {
            BenchCase c = cases.get(i);
            Map<String, Cell> row = results.get(i);
            double ink = row.get("inkwell").timing().medianMs();
            s.append(i == 0 ? "\n" : ",\n").append("    {\"name\": ").append(quote(c.name())).append(", \"unit\": ")
                    .append(quote(c.unit().label)).append(", \"rate\": ").append(number(c.rate(ink))).append(", \"results\": {");
            int j = 0;
            for (Map.Entry<String, Cell> e : row.entrySet()) {
                Cell cell = e.getValue();
                s.append(j++ == 0 ? "" : ", ").append(quote(e.getKey())).append(": ");
                if (cell.timing() == null && cell.note().startsWith("failed: ")) {
                    s.append("{\"status\": \"failed\", \"error\": ").append(quote(cell.note().substring(8))).append('}');
                } else if (cell.timing() == null) { // "absent", "failed to load", or "-": nothing comparable
                    s.append("{\"status\": ").append(quote(cell.note().equals("-") ? "n/a" : cell.note())).append('}');
                } else {
                    s.append("{\"median_ms\": ").append(number(cell.timing().medianMs())).append(", \"min_ms\": ")
                            .append(number(cell.timing().minMs())).append(", \"ratio\": ")
                            .append(number(cell.timing().medianMs() / ink)).append('}');
                }
            }
            s.append("}}");
        }
        return s.append("\n  ]\n}").toString();
    }

    private static String number(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }

    private static String quote(String v) {
        StringBuilder s = new StringBuilder("\"");
        for (char ch : v.toCharArray()) {
            switch (ch) {
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                case '\n' -> s.append("\\n");
                default -> {
                    if (ch < 0x20) {
                        s.append(String.format("\\u%04x", (int) ch));
                    } else {
                        s.append(ch);
                    }
                }
            }
        }
        return s.append('"').toString();
    }
}
