package dev.inkwell.cli;

import dev.inkwell.Inkwell;
import dev.inkwell.internal.NativeLibrary;
import java.io.PrintStream;
import java.util.Set;

/** {@code inkwell version}. */
final class VersionCommand implements Main.Command {
    @Override
    public String help() {
        return "usage: inkwell version\n\nPrints the library version, the SIMD level the CPU kernels run at (and the CPU's own when -Dinkwell.simd or\nINKWELL_SIMD forces a lower one), the thread count, and the native library in use.";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        Args.parse("version", argv, Set.of(), Set.of()).positional();
        try (Inkwell inkwell = Inkwell.create()) {
            out.println("inkwell " + Inkwell.version());
            out.println("platform " + NativeLibrary.platform() + ", SIMD " + simdText() + ", " + inkwell.threads()
                    + " threads");
            out.println("native library " + NativeLibrary.ensureLoaded());
            out.println("java " + Runtime.version());
        }
        return 0;
    }

    /** The level the kernels run at, and the CPU's own when a lower one is forced. */
    static String simdText() {
        String running = Inkwell.cpuSimdLevel();
        String cpu = Inkwell.cpuSimdLevelSupported();
        return running.equals(cpu) ? running
                : running + " (forced by -D" + NativeLibrary.SIMD_PROPERTY + " or INKWELL_SIMD; the CPU has " + cpu + ")";
    }
}
