package dev.inkwell.cli;

import dev.inkwell.Inkwell;
import dev.inkwell.internal.NativeLibrary;
import java.io.PrintStream;
import java.util.Set;

/** {@code inkwell version}. */
final class VersionCommand implements Main.Command {
    @Override
    public String help() {
        return "usage: inkwell version\n\nPrints the library version, the CPU's SIMD level and thread count, and the native library in use.";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        Args.parse("version", argv, Set.of(), Set.of()).positional();
        try (Inkwell inkwell = Inkwell.create()) {
            out.println("inkwell " + Inkwell.version());
            out.println("platform " + NativeLibrary.platform() + ", SIMD " + Inkwell.cpuSimdLevel() + ", " + inkwell.threads()
                    + " threads");
            out.println("native library " + NativeLibrary.ensureLoaded());
            out.println("java " + Runtime.version());
        }
        return 0;
    }
}
