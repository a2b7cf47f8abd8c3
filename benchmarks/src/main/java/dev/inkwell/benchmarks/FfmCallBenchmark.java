package dev.inkwell.benchmarks;

import dev.inkwell.Inkwell;
import dev.inkwell.bindings.InkwellNative;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of crossing into native code with nothing to do there:
 * <ul>
 *   <li>{@code bindings}: {@code InkwellNative.inkwell_noop()}, the jextract binding every
 *       Inkwell kernel call goes through (a regular downcall: thread-state transition);</li>
 *   <li>{@code downcallCritical}: a downcall handle of the same symbol made with
 *       {@code Linker.Option.critical(false)} (no transition: for short calls that neither
 *       block nor call back);</li>
 *   <li>{@code jni}: a JNI function of the same shape ({@code static native int noop()}) from
 *       libinkwellbench, compiled by this module's build;</li>
 *   <li>{@code downcallCriticalHelperLib}: the critical downcall to the helper library's plain
 *       C noop, to show the library itself changes nothing.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@SuppressWarnings("restricted")
public class FfmCallBenchmark {
    static final MethodHandle NOOP_CRITICAL;

    static {
        Inkwell.version(); // loads libinkwell before the bindings look symbols up
        NOOP_CRITICAL = Linker.nativeLinker().downcallHandle(InkwellNative.inkwell_noop$address(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT), Linker.Option.critical(false));
    }

    @State(Scope.Benchmark)
    public static class Jni {
        @Setup(Level.Trial)
        public void setup() {
            BenchNative.require();
            Anchors.log("JNI helper: " + BenchNative.PATH);
        }
    }

    @Benchmark
    public int bindings() {
        return InkwellNative.inkwell_noop();
    }

    @Benchmark
    public int downcallCritical() throws Throwable {
        return (int) NOOP_CRITICAL.invokeExact();
    }

    @Benchmark
    public int jni(Jni jni) {
        return BenchNative.noop();
    }

    @Benchmark
    public int downcallCriticalHelperLib(Jni jni) throws Throwable {
        return (int) BenchNative.NOOP_CRITICAL.invokeExact();
    }
}
