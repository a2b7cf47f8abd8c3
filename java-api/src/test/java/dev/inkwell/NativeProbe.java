package dev.inkwell;

import dev.inkwell.internal.NativeLibrary;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * The main class of the child JVMs that NativeLibraryCacheTest and ImageAlphaTest start:
 * one small job per mode, results on stdout as {@code KEY: value} lines.
 */
public final class NativeProbe {
    private NativeProbe() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "cpu" -> { // load, and run one kernel so the library is really used
                System.out.println("LIBRARY: " + NativeLibrary.ensureLoaded());
                try (Inkwell inkwell = Inkwell.builder().threads(1).build();
                        Image img = Image.allocate(16, 16, 1);
                        Image edges = inkwell.canny(img)) {
                    System.out.println("CANNY: " + edges.width() + "x" + edges.height());
                }
            }
            case "cuda" -> {
                System.out.println("LIBRARY: " + NativeLibrary.ensureLoaded());
                try (Inkwell inkwell = Inkwell.builder().device(Device.CUDA).build()) {
                    System.out.println("CUDA: context created");
                } catch (InkwellException e) {
                    System.out.println("CUDA-ERROR: " + e.getMessage());
                }
            }
            case "version" -> {
                try {
                    System.out.println("VERSION: " + Inkwell.version());
                } catch (InkwellException e) {
                    System.out.println("LOAD-ERROR: " + e.getMessage());
                }
            }
            case "simd" -> { // the SIMD level in effect and the CPU's, then one dispatched kernel
                try {
                    System.out.println("SIMD: " + Inkwell.cpuSimdLevel());
                    System.out.println("SUPPORTED: " + Inkwell.cpuSimdLevelSupported());
                    try (Inkwell inkwell = Inkwell.builder().threads(1).build();
                            Image img = Image.allocate(16, 16, 1);
                            Image edges = inkwell.canny(img)) {
                        System.out.println("CANNY: " + edges.width() + "x" + edges.height());
                    }
                } catch (InkwellException e) {
                    System.out.println("LOAD-ERROR: " + e.getMessage());
                }
            }
            case "sleep" -> { // loaded, then waits to be killed
                System.out.println("LIBRARY: " + NativeLibrary.ensureLoaded());
                System.out.flush();
                Thread.sleep(600_000);
            }
            case "two-loaders" -> { // the same classes in two more class loaders of this JVM
                List<URL> urls = new ArrayList<>();
                for (String p : System.getProperty("java.class.path").split(File.pathSeparator)) {
                    urls.add(new File(p).toURI().toURL());
                }
                for (int i = 0; i < 2; i++) {
                    try (URLClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader())) {
                        Object path = Class.forName(NativeLibrary.class.getName(), true, loader).getMethod("ensureLoaded")
                                .invoke(null);
                        Object version = Class.forName(Inkwell.class.getName(), true, loader).getMethod("version").invoke(null);
                        System.out.println("LOADER" + i + ": " + path + " " + version);
                    }
                }
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
    }
}
