package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.internal.NativeLibrary;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Whole JVM starts with the library inside a jar, as users get it: the first start extracts
 * libinkwell once into the cache, later starts write nothing, nothing is left in the
 * temporary folder (not even by a killed JVM), the CUDA backend is placed beside the core
 * only when a CUDA context is asked for, a second class loader still works, and denied
 * native access names the flag.
 */
class NativeLibraryCacheTest {
    @TempDir
    static Path shared;
    static Path jar;
    static byte[] cudaBytes;

    @TempDir
    Path tmp;

    /** A jar holding only the native folder, first on the child's class path so its copy is found. */
    @BeforeAll
    static void buildJar() throws IOException {
        Path core = NativeLibrary.ensureLoaded();
        Path cuda = core.resolveSibling(System.mapLibraryName("inkwell_cuda"));
        // Without a CUDA build, a stand-in: the test is about where it goes, not about loading it.
        cudaBytes = Files.isRegularFile(cuda) ? Files.readAllBytes(cuda)
                : "not a library: NativeLibraryCacheTest's stand-in".getBytes(StandardCharsets.UTF_8);
        jar = shared.resolve("natives.jar");
        String dir = "native/" + NativeLibrary.platform() + "/";
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry(dir + core.getFileName()));
            out.write(Files.readAllBytes(core));
            out.closeEntry();
            out.putNextEntry(new JarEntry(dir + cuda.getFileName()));
            out.write(cudaBytes);
            out.closeEntry();
        }
    }

    record Child(int status, String out) {
        String value(String key) {
            return out.lines().filter(l -> l.startsWith(key + ": ")).map(l -> l.substring(key.length() + 2)).findFirst()
                    .orElseThrow(() -> new AssertionError("no " + key + " in: " + out));
        }
    }

    private List<String> command(List<String> jvmOptions, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:-UsePerfData"); // no hsperfdata file in /tmp
        cmd.add("-Xshare:auto");
        cmd.addAll(jvmOptions);
        cmd.add("-Dinkwell.cache.dir=" + tmp.resolve("cache"));
        cmd.add("-Djava.io.tmpdir=" + tmp.resolve("jtmp"));
        cmd.add("-cp");
        cmd.add(jar + java.io.File.pathSeparator + System.getProperty("java.class.path"));
        cmd.add(NativeProbe.class.getName());
        cmd.addAll(Arrays.asList(args));
        return cmd;
    }

    private Child run(List<String> jvmOptions, String... args) throws IOException, InterruptedException {
        Files.createDirectories(tmp.resolve("jtmp"));
        Process p = new ProcessBuilder(command(jvmOptions, args)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish: " + out);
        return new Child(p.exitValue(), out);
    }

    private Child run(String... args) throws IOException, InterruptedException {
        return run(List.of("--enable-native-access=ALL-UNNAMED"), args);
    }

    /** Every file under dir with inode, size and modification time: equal lists mean nothing was written. */
    private static List<String> snapshot(Path dir) throws IOException {
        List<String> out = new ArrayList<>();
        if (!Files.exists(dir)) {
            return out;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted().toList()) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
                out.add(dir.relativize(p) + " " + a.fileKey() + " " + a.size() + " " + a.lastModifiedTime().toMillis());
            }
        }
        return out;
    }

    private static long bytesUnder(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    @Test
    void extractedOnceThenReusedWithNothingWrittenAndNothingLeftBehind() throws Exception {
        Path cache = tmp.resolve("cache"), jtmp = tmp.resolve("jtmp");
        Child first = run("cpu");
        assertEquals(0, first.status(), first.out());
        Path loaded = Path.of(first.value("LIBRARY"));
        assertTrue(loaded.startsWith(cache), "loaded from the cache: " + loaded);
        assertTrue(loaded.getParent().getFileName().toString().matches("[0-9a-f]{16}"), "a content-keyed folder: " + loaded);
        assertTrue(Arrays.equals(Files.readAllBytes(NativeLibrary.ensureLoaded()), Files.readAllBytes(loaded)));
        assertFalse(Files.exists(loaded.resolveSibling(System.mapLibraryName("inkwell_cuda"))),
                "no CUDA backend extracted for CPU work");
        assertEquals(Files.size(loaded), bytesUnder(cache), "the core library alone, once");
        assertEquals(0, bytesUnder(jtmp), "nothing in java.io.tmpdir");

        List<String> before = snapshot(cache);
        Child second = run("cpu");
        assertEquals(0, second.status(), second.out());
        assertEquals(loaded.toString(), second.value("LIBRARY"));
        assertEquals(before, snapshot(cache), "the second start writes nothing");
        assertEquals(0, bytesUnder(jtmp), "nothing in java.io.tmpdir");
    }

    @Test
    void aKilledJvmLeavesNothingBehind() throws Exception {
        run("cpu"); // extraction done by an earlier start
        List<String> before = snapshot(tmp.resolve("cache"));
        Process p = new ProcessBuilder(command(List.of("--enable-native-access=ALL-UNNAMED"), "sleep"))
                .redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null && !line.startsWith("LIBRARY: ")) {
                // JVM warnings, if any
            }
            assertTrue(line != null, "the child never loaded the library");
        } finally {
            p.destroyForcibly();
            p.waitFor(60, TimeUnit.SECONDS);
        }
        assertEquals(before, snapshot(tmp.resolve("cache")));
        assertEquals(0, bytesUnder(tmp.resolve("jtmp")), "a killed JVM leaves no library copy behind");
    }

    @Test
    void cudaBackendIsPlacedBesideTheCoreOnlyWhenACudaContextIsAskedFor() throws Exception {
        Child cpu = run("cpu");
        Path core = Path.of(cpu.value("LIBRARY"));
        Path backend = core.resolveSibling(System.mapLibraryName("inkwell_cuda"));
        assertFalse(Files.exists(backend));

        Child cuda = run("cuda");
        assertEquals(core.toString(), cuda.value("LIBRARY"));
        assertTrue(Arrays.equals(cudaBytes, Files.readAllBytes(backend)), "the jar's backend, beside the core");
        if (!driverPresent()) {
            // The backend is there, the driver is not: say that, not "driver version is insufficient".
            String error = cuda.value("CUDA-ERROR");
            assertTrue(error.contains("no NVIDIA driver: libcuda.so.1 not found"), error);
        }
        List<String> before = snapshot(tmp.resolve("cache"));
        run("cuda");
        assertEquals(before, snapshot(tmp.resolve("cache")), "placed once");
    }

    @Test
    void aSecondClassLoaderGetsItsOwnCopy() throws Exception {
        Child c = run("two-loaders");
        assertEquals(0, c.status(), c.out());
        String first = c.value("LOADER0"), second = c.value("LOADER1");
        assertTrue(first.startsWith(tmp.resolve("cache").toString()), first);
        assertFalse(second.startsWith(tmp.resolve("cache").toString()), "the JDK loads one file into one loader: " + second);
        assertTrue(first.endsWith(Inkwell.version()) && second.endsWith(Inkwell.version()), c.out());
        assertEquals(0, bytesUnder(tmp.resolve("jtmp")), "the private copy is deleted at exit");
    }

    @Test
    void deniedNativeAccessNamesTheFlag() throws Exception {
        Child c = run(List.of("--illegal-native-access=deny"), "version");
        String error = c.value("LOAD-ERROR");
        assertTrue(error.contains("--enable-native-access=ALL-UNNAMED"), error);
        assertTrue(error.contains("--enable-native-access=dev.inkwell,dev.inkwell.bindings"), error);
    }

    /** Whether this machine has an NVIDIA driver the dynamic linker can find. */
    static boolean driverPresent() {
        try {
            SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
