package dev.inkwell.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link Json}: the Java shapes callers cast to, and strict refusals with an offset. */
class JsonTest {
    @Test
    void valuesBecomePlainJavaObjects() {
        Map<?, ?> m = (Map<?, ?>) Json.parse("""
                {"z": 1, "a": [2, -3.5e2, 1e400, 12345678901234567890], "s": "\\u00e9\\n\\"x\\"",
                 "t": true, "f": false, "n": null, "o": {}}""");
        assertEquals(List.of("z", "a", "s", "t", "f", "n", "o"), List.copyOf(m.keySet()), "file order");
        assertEquals(1.0, m.get("z"), "every number a Double");
        assertEquals(Arrays.asList(2.0, -350.0, Double.POSITIVE_INFINITY, 1.2345678901234567e19), m.get("a"));
        assertEquals("é\n\"x\"", m.get("s"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertEquals(Boolean.FALSE, m.get("f"));
        assertTrue(m.containsKey("n"));
        assertNull(m.get("n"));
        assertEquals(Map.of(), m.get("o"));
        assertEquals(7.0, Json.parse(" 7 "));
        assertEquals("x", Json.parse("\"x\""));
        assertNull(Json.parse("null"));
    }

    @Test
    void invalidJsonIsRefusedWithItsOffset() {
        for (String bad : new String[] {"", "   ", "{", "{\"a\": }", "[1, 2", "{\"a\": 1} x", "{\"a\": NaN}",
                "{\"a\": 1, \"a\": 2}", "[01]", "{'a': 1}", "// c\n1"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("JSON: ") && e.getMessage().contains(" at offset "),
                    bad + ": " + e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"k\": 1, \"k\": 2}"));
        assertTrue(e.getMessage().contains("'k'"), e.getMessage());
    }
}
