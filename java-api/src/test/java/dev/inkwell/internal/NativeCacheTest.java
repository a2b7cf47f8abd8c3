package dev.inkwell.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native-library cache on its own (no library loaded): content keys, one atomic write
 * per build, reuse without writing, repair of a damaged copy, concurrent extraction, and
 * the checks on a shared temporary folder. NativeLibraryCacheTest covers whole JVM starts.
 */
class NativeCacheTest {
    @TempDir
    Path tmp;

    /** A jar holding {@code name} with {@code bytes}, and the URL of that entry. */
    private URL jarEntry(String jarName, String name, byte[] bytes) throws IOException {
        Path jar = tmp.resolve(jarName);
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
            out.putNextEntry(new JarEntry("native/" + name));
            out.write(bytes);
            out.closeEntry();
        }
        return URI.create("jar:" + jar.toUri() + "!/native/" + name).toURL();
    }

    private static byte[] randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Every file under dir with its inode, size and modification time: equal means nothing was written. */
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

    @Test
    void entryFingerprintFromTheJarDirectoryEqualsTheOneFromTheBytes() throws IOException {
        byte[] lib = randomBytes(300_001, 1);
        NativeCache.Entry fromJar = NativeCache.entry("libx.so", jarEntry("a.jar", "libx.so", lib));
        Path plain = tmp.resolve("libx.so");
        Files.write(plain, lib);
        NativeCache.Entry fromFile = NativeCache.entry("libx.so", plain.toUri().toURL());
        assertEquals(lib.length, fromJar.size());
        assertEquals(fromJar.size(), fromFile.size());
        assertEquals(fromJar.crc(), fromFile.crc());
        assertEquals(NativeCache.key(List.of(fromJar)), NativeCache.key(List.of(fromFile)));
    }

    @Test
    void keyDependsOnEveryLibrarysContent() throws IOException {
        byte[] core = randomBytes(5000, 2), cuda = randomBytes(7000, 3);
        byte[] cuda2 = cuda.clone();
        cuda2[6999] ^= 1;
        NativeCache.Entry c = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", core));
        NativeCache.Entry g1 = NativeCache.entry("libinkwell_cuda.so", jarEntry("b.jar", "libinkwell_cuda.so", cuda));
        NativeCache.Entry g2 = NativeCache.entry("libinkwell_cuda.so", jarEntry("c.jar", "libinkwell_cuda.so", cuda2));
        String k1 = NativeCache.key(List.of(c, g1)), k2 = NativeCache.key(List.of(c, g2)), k0 = NativeCache.key(List.of(c));
        assertTrue(k1.matches("[0-9a-f]{16}"), k1);
        assertNotEquals(k1, k2, "one changed byte of the CUDA backend gives another folder");
        assertNotEquals(k0, k1);
        assertEquals(k1, NativeCache.key(List.of(c, g1)), "stable");
    }

    @Test
    void placedOnceThenReusedWithoutWriting() throws IOException {
        byte[] lib = randomBytes(1 << 20, 4);
        NativeCache.Entry e = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", lib));
        Path base = tmp.resolve("cache");
        String key = NativeCache.key(List.of(e));
        Path dir = NativeCache.placeInCache(List.of(base), key, e);
        assertEquals(base.resolve(key), dir);
        assertTrue(Arrays.equals(lib, Files.readAllBytes(dir.resolve("libinkwell.so"))));
        List<String> before = snapshot(base);
        assertEquals(3, before.size(), "base, key folder, library; no temporary file left: " + before);

        assertEquals(dir, NativeCache.placeInCache(List.of(base), key, e));
        assertFalse(NativeCache.place(dir, e), "an intact copy is not written again");
        assertEquals(before, snapshot(base), "nothing written the second time");
    }

    @Test
    void aDamagedCopyIsReplacedAtomically() throws IOException {
        byte[] lib = randomBytes(100_000, 5);
        NativeCache.Entry e = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", lib));
        Path dir = tmp.resolve("cache/k");
        assertTrue(NativeCache.place(dir, e));
        Path file = dir.resolve("libinkwell.so");
        Files.write(file, Arrays.copyOf(lib, 1000)); // truncated by something else
        assertFalse(NativeCache.matches(file, e));
        assertTrue(NativeCache.place(dir, e));
        assertTrue(Arrays.equals(lib, Files.readAllBytes(file)));
        byte[] flipped = lib.clone();
        flipped[50_000] ^= 0x10; // same size, other content: the CRC tells
        Files.write(file, flipped);
        assertFalse(NativeCache.matches(file, e));
        assertTrue(NativeCache.place(dir, e));
        assertTrue(Arrays.equals(lib, Files.readAllBytes(file)));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file left");
        }
    }

    @Test
    void concurrentExtractionsLeaveOneCompleteFile() throws Exception {
        byte[] lib = randomBytes(4 << 20, 6);
        NativeCache.Entry e = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", lib));
        Path base = tmp.resolve("cache");
        String key = NativeCache.key(List.of(e));
        int threads = 8;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    Path dir = NativeCache.placeInCache(List.of(base), key, e);
                    // Whoever returns must see a complete library, whatever the others do.
                    assertTrue(NativeCache.matches(dir.resolve("libinkwell.so"), e));
                    return dir;
                }));
            }
            for (Future<Path> f : results) {
                assertEquals(base.resolve(key), f.get());
            }
        } finally {
            pool.shutdownNow();
        }
        try (Stream<Path> files = Files.list(base.resolve(key))) {
            assertEquals(List.of(base.resolve(key).resolve("libinkwell.so")), files.toList());
        }
        assertTrue(Arrays.equals(lib, Files.readAllBytes(base.resolve(key).resolve("libinkwell.so"))));
    }

    @Test
    void staleTemporaryFilesOfKilledJvmsAreRemovedAtTheNextExtraction() throws IOException {
        byte[] lib = randomBytes(10_000, 7);
        NativeCache.Entry e = NativeCache.entry("libinkwell_cuda.so", jarEntry("a.jar", "libinkwell_cuda.so", lib));
        Path dir = Files.createDirectories(tmp.resolve("cache/k"));
        Path old = dir.resolve(".libinkwell_cuda.so.123.part"), fresh = dir.resolve(".libinkwell_cuda.so.456.part");
        Files.write(old, new byte[10]);
        Files.write(fresh, new byte[10]);
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(NativeCache.STALE_PART).minusSeconds(60)));
        assertTrue(NativeCache.place(dir, e));
        assertFalse(Files.exists(old), "an hour-old part file is a leftover");
        assertTrue(Files.exists(fresh), "a recent one may belong to a JVM extracting right now");
    }

    @Test
    void fallsBackToTheNextBaseAndNamesEveryFailure() throws IOException {
        byte[] lib = randomBytes(1000, 8);
        NativeCache.Entry e = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", lib));
        Path file = Files.write(tmp.resolve("a-file"), new byte[1]);
        Path unusable = file.resolve("inkwell"); // below a regular file: cannot be created
        Path usable = tmp.resolve("second");
        String key = NativeCache.key(List.of(e));
        assertEquals(usable.resolve(key), NativeCache.placeInCache(List.of(unusable, usable), key, e));
        IOException failure = assertThrows(IOException.class,
                () -> NativeCache.placeInCache(List.of(unusable, file.resolve("other")), key, e));
        assertTrue(failure.getMessage().contains(unusable.toString()) && failure.getMessage().contains("-Dinkwell.cache.dir"),
                failure.getMessage());
    }

    @Test
    void anExistingIntactCopyIsUsedEvenFromALaterBase() throws IOException {
        byte[] lib = randomBytes(1000, 9);
        NativeCache.Entry e = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", lib));
        String key = NativeCache.key(List.of(e));
        Path first = tmp.resolve("first"), second = tmp.resolve("second");
        NativeCache.place(second.resolve(key), e);
        List<String> before = snapshot(tmp);
        assertEquals(second.resolve(key), NativeCache.placeInCache(List.of(first, second), key, e));
        assertEquals(before, snapshot(tmp), "found in the second base: nothing written in the first");
    }

    @Test
    void sharedTemporaryFolderMustBePrivate() throws IOException {
        String saved = System.getProperty("java.io.tmpdir");
        Path fakeTmp = Files.createDirectories(tmp.resolve("systmp"));
        System.setProperty("java.io.tmpdir", fakeTmp.toString());
        try {
            byte[] lib = randomBytes(1000, 10);
            NativeCache.Entry e = NativeCache.entry("libinkwell.so", jarEntry("a.jar", "libinkwell.so", lib));
            String key = NativeCache.key(List.of(e));
            Path base = fakeTmp.resolve("inkwell-" + System.getProperty("user.name"));
            NativeCache.placeInCache(List.of(base), key, e);
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(base)));

            // Another user's (or a world-writable) folder of that name is refused, not used.
            Path other = fakeTmp.resolve("inkwell-" + System.getProperty("user.name") + "x");
            Files.createDirectories(other, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxrwxrwx")));
            Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rwxrwxrwx"));
            IOException refused = assertThrows(IOException.class, () -> NativeCache.placeInCache(List.of(other), key, e));
            assertTrue(refused.getMessage().contains("writable by others"), refused.getMessage());

            // A link planted in the shared folder is refused even though an intact library is
            // behind it (a CRC-32 match proves nothing about who put it there).
            Path link = fakeTmp.resolve("inkwell-link");
            Files.createSymbolicLink(link, base);
            refused = assertThrows(IOException.class, () -> NativeCache.placeInCache(List.of(link), key, e));
            assertTrue(refused.getMessage().contains("a link or a file"), refused.getMessage());
        } finally {
            System.setProperty("java.io.tmpdir", saved);
        }
    }

    @Test
    void basesFollowThePropertyThenXdgThenHomeThenTmp() {
        String saved = System.getProperty(NativeCache.DIR_PROPERTY);
        try {
            System.setProperty(NativeCache.DIR_PROPERTY, tmp.toString());
            assertEquals(List.of(tmp), NativeCache.bases(), "an explicit folder is used alone");
            System.clearProperty(NativeCache.DIR_PROPERTY);
            List<Path> bases = NativeCache.bases();
            assertTrue(bases.contains(Path.of(System.getProperty("user.home"), ".cache", "inkwell")), bases.toString());
            Path last = bases.get(bases.size() - 1);
            assertEquals(Path.of(System.getProperty("java.io.tmpdir")), last.getParent());
            assertTrue(last.getFileName().toString().startsWith("inkwell-"), last.toString());
        } finally {
            if (saved == null) {
                System.clearProperty(NativeCache.DIR_PROPERTY);
            } else {
                System.setProperty(NativeCache.DIR_PROPERTY, saved);
            }
        }
    }
}
