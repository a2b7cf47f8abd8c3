package dev.inkwell.internal;

import dev.inkwell.InkwellException;
import dev.inkwell.Status;
import dev.inkwell.bindings.InkwellNative;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Finds and loads libinkwell once per class loader, before any binding is touched (the
 * generated bindings look symbols up in the libraries this loader has loaded).
 *
 * <p>Where from, in order: the system property {@value #PATH_PROPERTY} (a file; failing to
 * load it is an error, not a fallback), else the jar's {@code native/<os>-<arch>/} folder,
 * extracted to a temporary file when the jar is not unpacked. A failure is kept with its
 * cause and reported on every use.
 */
public final class NativeLibrary {
    /** System property naming the library file to load instead of the one in the jar. */
    public static final String PATH_PROPERTY = "inkwell.library.path";

    private static final String LIBRARY_FILE = System.mapLibraryName("inkwell");
    /** The optional CUDA backend, opened by the core library when a CUDA context is created. */
    private static final String CUDA_LIBRARY_FILE = System.mapLibraryName("inkwell_cuda");

    private NativeLibrary() {}

    private static final class Holder {
        static final Object LOADED_OR_FAILURE = loadOnce();
    }

    /** Loads the library if needed; returns the file it was loaded from. */
    public static Path ensureLoaded() {
        Object state = Holder.LOADED_OR_FAILURE;
        if (state instanceof Path path) {
            return path;
        }
        Throwable cause = (Throwable) state;
        throw new InkwellException(Status.UNSUPPORTED, "cannot load the Inkwell native library: " + cause.getMessage(), cause);
    }

    /** The folder name for this machine, e.g. {@code linux-x86_64}. */
    public static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String osName = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("windows") ? "windows" : os;
        String archName = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return osName + "-" + archName;
    }

    private static Object loadOnce() {
        try {
            Path path = locate();
            System.load(path.toAbsolutePath().toString());
            checkVersion();
            return path;
        } catch (Throwable t) { // UnsatisfiedLinkError included: keep it as the cause
            return t;
        }
    }

    private static Path locate() throws IOException {
        String override = System.getProperty(PATH_PROPERTY);
        if (override != null && !override.isBlank()) {
            Path path = Path.of(override);
            if (!Files.isRegularFile(path)) {
                throw new IOException("-D" + PATH_PROPERTY + "=" + override + " is not a file");
            }
            return path;
        }
        String resource = "/native/" + platform() + "/" + LIBRARY_FILE;
        URL url = NativeLibrary.class.getResource(resource);
        if (url == null) {
            throw new IOException("this jar has no " + resource + " (no build for " + platform()
                    + "); build from source or set -D" + PATH_PROPERTY);
        }
        if ("file".equals(url.getProtocol())) {
            try {
                return Path.of(url.toURI());
            } catch (URISyntaxException e) {
                throw new IOException("bad library location " + url, e);
            }
        }
        // Inside a jar: copy to a private temporary folder, deleted when the JVM exits. The
        // optional CUDA backend goes beside the core library: the core opens it from its own
        // folder when a CUDA context is first asked for.
        Path dir = Files.createTempDirectory("inkwell-");
        dir.toFile().deleteOnExit();
        Path file = extract(url, dir.resolve(LIBRARY_FILE));
        URL cuda = NativeLibrary.class.getResource("/native/" + platform() + "/" + CUDA_LIBRARY_FILE);
        if (cuda != null) {
            extract(cuda, dir.resolve(CUDA_LIBRARY_FILE));
        }
        return file;
    }

    private static Path extract(URL url, Path file) throws IOException {
        try (InputStream in = url.openStream()) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        file.toFile().deleteOnExit(); // registered after the folder, so deleted before it
        return file;
    }

    private static void checkVersion() {
        int expected = InkwellNative.INKWELL_VERSION_MAJOR() * 10000 + InkwellNative.INKWELL_VERSION_MINOR() * 100
                + InkwellNative.INKWELL_VERSION_PATCH();
        int actual = InkwellNative.inkwell_version();
        if (actual / 100 != expected / 100) {
            throw new IllegalStateException("native library version " + actual + " does not match the Java API's " + expected);
        }
    }
}
