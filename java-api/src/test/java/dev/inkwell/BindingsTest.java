package dev.inkwell;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.inkwell.bindings.InkwellNative;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The checked-in bindings cover the header: every exported function has a binding, and they
 * were generated from the header as it is now (bindings/regenerate.sh records its SHA-256).
 */
class BindingsTest {
    private static final Path HEADER = Path.of("..", "native", "include", "inkwell", "inkwell.h");

    @Test
    void everyHeaderFunctionHasABinding() throws IOException {
        String header = Files.readString(HEADER);
        Matcher m = Pattern.compile("INKWELL_API\\s+[^;(]*?\\b(inkwell_\\w+)\\s*\\(").matcher(header);
        List<String> declared = new ArrayList<>();
        while (m.find()) {
            declared.add(m.group(1));
        }
        assertTrue(declared.size() >= 10, "found only " + declared + " in " + HEADER);
        List<String> missing = new ArrayList<>();
        for (String name : declared) {
            boolean bound = false;
            for (Method method : InkwellNative.class.getMethods()) {
                bound |= method.getName().equals(name) && Modifier.isStatic(method.getModifiers());
            }
            if (!bound) {
                missing.add(name);
            }
        }
        assertTrue(missing.isEmpty(), "declared in inkwell.h without a binding (run bindings/regenerate.sh): " + missing);
    }

    @Test
    void bindingsWereGeneratedFromThisHeader() throws Exception {
        String want;
        try (var in = InkwellNative.class.getResourceAsStream("inkwell.h.sha256")) {
            assertNotNull(in, "the bindings jar has no inkwell.h.sha256: run bindings/regenerate.sh");
            want = new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
        }
        String got = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(HEADER)));
        assertEquals(want, got, "inkwell.h changed since the bindings were generated: run bindings/regenerate.sh");
    }

    @Test
    void versionsAgree() {
        String v = Inkwell.version();
        assertTrue(v.equals(InkwellNative.INKWELL_VERSION_MAJOR() + "." + InkwellNative.INKWELL_VERSION_MINOR() + "."
                + InkwellNative.INKWELL_VERSION_PATCH()), v);
        assertTrue(InkwellNative.inkwell_noop() == 0);
    }
}
