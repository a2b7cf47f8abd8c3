package dev.inkwell.cli.bench;

import java.util.function.Supplier;

/**
 * One row of the table: a kernel on one shape. {@code work} is what one call does in the
 * case's unit (floating-point operations for GFLOP/s, bytes moved for GB/s, nothing for a
 * time-only row), so the table can print a rate next to each time.
 */
record BenchCase(String name, Unit unit, double work, Supplier<BenchSpec> spec) {
    enum Unit {
        GFLOPS("GFLOP/s"), GBPS("GB/s"), TIME("");

        final String label;

        Unit(String label) {
            this.label = label;
        }
    }

    /** The rate of one call that took {@code ms}, in the case's unit, or NaN for time-only rows. */
    double rate(double ms) {
        return unit == Unit.TIME ? Double.NaN : work / (ms * 1e-3) / 1e9;
    }
}
