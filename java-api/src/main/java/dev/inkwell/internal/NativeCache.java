package dev.inkwell.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.jar.JarEntry;
import java.util.zip.CRC32;

/**
 * The per-user cache the native libraries are extracted to from the jar: one folder per
 * content key, {@code <base>/<key>/libinkwell.so} (and {@code libinkwell_cuda.so} beside it,
 * placed only when a CUDA context is asked for). A JVM start that finds its files there
 * writes nothing; files are written to a temporary name in the same folder and renamed into
 * place atomically, so concurrent JVMs never see half a library and a killed one leaves at
 * most a {@code .part} file, removed by the next extraction an hour later.
 *
 * <p>The key is a SHA-256 over each library's name, size and CRC-32 as the jar's directory
 * records them (no decompression at start-up; computed from the bytes for other URLs), so
 * every build gets its own folder and a folder never mixes builds. A file found in the cache
 * is used only when its size and CRC-32 match the jar's.
 */
final class NativeCache {
    /** System property naming the cache base folder (used alone: no fallback). */
    static final String DIR_PROPERTY = "inkwell.cache.dir";
    /** Leftovers of an extraction whose JVM was killed are removed after this long. */
    static final Duration STALE_PART = Duration.ofHours(1);

    private NativeCache() {}

    /** A library in the jar: where it is, and its size and CRC-32. */
    record Entry(String name, URL url, long size, long crc) {}

    /** Reads an entry's size and CRC-32 from the jar's directory, or from its bytes otherwise. */
    static Entry entry(String name, URL url) throws IOException {
        URLConnection connection = url.openConnection();
        if (connection instanceof JarURLConnection jar) {
            jar.setUseCaches(true); // the JarFile the class loader already has open
            JarEntry e = jar.getJarEntry();
            if (e != null && e.getSize() >= 0 && e.getCrc() >= 0) {
                return new Entry(name, url, e.getSize(), e.getCrc());
            }
        }
        CRC32 crc = new CRC32();
        long size = 0;
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = url.openStream()) {
            for (int n; (n = in.read(buffer)) > 0; ) {
                crc.update(buffer, 0, n);
                size += n;
            }
        }
        return new Entry(name, url, size, crc.getValue());
    }

    /** The folder name for a set of libraries: 16 hex digits of a SHA-256 over their fingerprints. */
    static String key(List<Entry> entries) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (Entry e : entries) {
                sha.update((e.name() + " " + e.size() + " " + Long.toHexString(e.crc()) + "\n").getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    /**
     * The base folders to try, in order: {@value #DIR_PROPERTY} alone when set; else
     * {@code $XDG_CACHE_HOME/inkwell}, {@code ~/.cache/inkwell}, then
     * {@code <java.io.tmpdir>/inkwell-<user>} (private to the user, checked).
     */
    static List<Path> bases() {
        List<Path> bases = new ArrayList<>();
        String explicit = System.getProperty(DIR_PROPERTY);
        if (explicit != null && !explicit.isBlank()) {
            bases.add(Path.of(explicit));
            return bases;
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
            bases.add(Path.of(xdg, "inkwell"));
        }
        String home = System.getProperty("user.home");
        if (home != null && !home.isBlank() && !home.equals("?")) {
            Path p = Path.of(home, ".cache", "inkwell");
            if (!bases.contains(p)) {
                bases.add(p);
            }
        }
        bases.add(Path.of(System.getProperty("java.io.tmpdir"), "inkwell-" + safeUserName()));
        return bases;
    }

    private static String safeUserName() {
        String user = System.getProperty("user.name", "user");
        return user.replaceAll("[^A-Za-z0-9._-]", "_");
    }

    /**
     * The folder holding {@code first} for this key: the first base where it is already
     * present and intact (nothing written), else the first base where it can be placed.
     *
     * @throws IOException naming every base tried and why each failed
     */
    static Path placeInCache(List<Path> bases, String key, Entry first) throws IOException {
        for (Path base : bases) {
            // A shared temporary folder is trusted only once it has passed the checks of
            // prepare(): a CRC-32 is no defence against a library planted by someone else.
            if ((!inSharedTmp(base) || isPrivate(base)) && matches(base.resolve(key).resolve(first.name()), first)) {
                return base.resolve(key);
            }
        }
        StringBuilder failures = new StringBuilder();
        for (Path base : bases) {
            try {
                Path dir = prepare(base).resolve(key);
                place(dir, first);
                if (!failures.isEmpty()) { // say why the preferred folder was not used
                    System.getLogger(NativeCache.class.getName()).log(System.Logger.Level.INFO,
                            "Inkwell: native library extracted to " + dir + " (" + failures + ")");
                }
                return dir;
            } catch (IOException | UnsupportedOperationException | SecurityException e) {
                failures.append(failures.isEmpty() ? "" : "; ").append(base).append(": ").append(describe(e));
            }
        }
        throw new IOException("no usable cache folder for the native library (" + failures
                + "); set -D" + DIR_PROPERTY + "=DIR to a writable folder");
    }

    /** Whether base is the {@code inkwell-<user>} folder in the shared temporary folder. */
    private static boolean inSharedTmp(Path base) {
        return base.getFileName() != null && base.getFileName().toString().startsWith("inkwell-")
                && base.getParent() != null && base.getParent().equals(Path.of(System.getProperty("java.io.tmpdir")))
                && Files.getFileAttributeView(base.getParent(), PosixFileAttributeView.class) != null;
    }

    /** Whether an existing shared-tmp base passes the checks of {@link #checkPrivate}. */
    private static boolean isPrivate(Path base) {
        try {
            checkPrivate(base);
            return true;
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** Creates the base; a shared temporary folder must be ours alone (owner, mode 700, no link). */
    private static Path prepare(Path base) throws IOException {
        if (!inSharedTmp(base)) {
            Files.createDirectories(base);
            return base;
        }
        try {
            Files.createDirectory(base, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            // checked below
        }
        checkPrivate(base);
        return base;
    }

    private static void checkPrivate(Path base) throws IOException {
        if (Files.isSymbolicLink(base) || !Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("not a directory of its own (a link or a file): refusing it");
        }
        String owner = Files.getOwner(base, LinkOption.NOFOLLOW_LINKS).getName();
        if (!owner.equals(System.getProperty("user.name"))) {
            throw new IOException("owned by " + owner + ", not by " + System.getProperty("user.name") + ": refusing it");
        }
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(base, LinkOption.NOFOLLOW_LINKS);
        if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("writable by others (" + PosixFilePermissions.toString(perms) + "): refusing it");
        }
    }

    /**
     * Puts {@code entry} into {@code dir} unless an intact copy is there: written under a
     * temporary name in the same folder, checked against the jar's size and CRC-32, then
     * renamed over the final name in one step.
     *
     * @return whether anything was written
     */
    static boolean place(Path dir, Entry entry) throws IOException {
        Path target = dir.resolve(entry.name());
        if (matches(target, entry)) {
            return false;
        }
        Files.createDirectories(dir);
        removeStaleParts(dir);
        Path part = Files.createTempFile(dir, "." + entry.name() + ".", ".part");
        try {
            CRC32 crc = new CRC32();
            long size = 0;
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = entry.url().openStream(); OutputStream out = Files.newOutputStream(part)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    crc.update(buffer, 0, n);
                    out.write(buffer, 0, n);
                    size += n;
                }
            }
            if (size != entry.size() || crc.getValue() != entry.crc()) {
                throw new IOException("copy of " + entry.url() + " does not match the jar's size and CRC-32");
            }
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) { // same folder, so only on odd file systems
                if (!matches(target, entry)) {
                    Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
                }
            }
        } finally {
            Files.deleteIfExists(part);
        }
        return true;
    }

    /** Whether {@code file} exists with the entry's size and CRC-32 (reads it; no write). */
    static boolean matches(Path file, Entry entry) {
        try {
            if (!Files.isRegularFile(file) || Files.size(file) != entry.size()) {
                return false;
            }
            CRC32 crc = new CRC32();
            byte[] buffer = new byte[1 << 16];
            try (InputStream in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buffer)) > 0; ) {
                    crc.update(buffer, 0, n);
                }
            }
            return crc.getValue() == entry.crc();
        } catch (IOException | SecurityException e) {
            return false;
        }
    }

    /** Removes {@code .part} files older than {@link #STALE_PART} (their JVM was killed mid-copy). */
    private static void removeStaleParts(Path dir) {
        Instant cutoff = Instant.now().minus(STALE_PART);
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(dir, ".*.part")) {
            for (Path p : parts) {
                FileTime t = Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS);
                if (t.toInstant().isBefore(cutoff)) {
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException | SecurityException e) {
            // best effort: a leftover costs disk space, not correctness
        }
    }

    /**
     * A private folder for this process only, deleted when the JVM exits, holding a copy of
     * {@code entry}: for a second class loader in one JVM (the JDK lets one library file be
     * loaded by one class loader only).
     */
    static Path privateCopy(Entry entry) throws IOException {
        Path dir = Files.createTempDirectory("inkwell-");
        dir.toFile().deleteOnExit();
        privateFile(dir, entry);
        return dir;
    }

    /** Copies {@code entry} into a private folder, deleted when the JVM exits. */
    static void privateFile(Path dir, Entry entry) throws IOException {
        Path file = dir.resolve(entry.name());
        try (InputStream in = entry.url().openStream()) {
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        }
        file.toFile().deleteOnExit(); // registered after the folder, so deleted before it
    }

    static String describe(Throwable e) {
        String m = e.getMessage();
        return m == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + ": " + m;
    }
}
