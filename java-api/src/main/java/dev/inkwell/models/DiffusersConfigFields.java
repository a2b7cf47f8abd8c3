package dev.inkwell.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inkwell.internal.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Typed reads of the fields of a diffusers {@code config.json} (the U-Net's and the ControlNet's),
 * with diffusers' defaults for absent or null fields and their "int or per-block list" fields.
 * Every error is an {@link IOException} naming the file and the field.
 *
 * <p>Each field read is recorded; {@link #refuseUnread} then refuses any other field that would
 * change the network (a value other than null or false), so a field this version does not know
 * is never silently ignored. Fields starting with '_' (diffusers' bookkeeping) are skipped.
 */
final class DiffusersConfigFields {
    /** More entries than any diffusers list field has; bounds what a hostile config can ask for. */
    static final int MAX_LIST = 16;


    private final Path file;
    private final JsonNode root;
    private final Set<String> read = new HashSet<>();

    private DiffusersConfigFields(Path file, JsonNode root) {
        this.file = file;
        this.root = root;
    }

    /**
     * Parses a config file and checks its {@code _class_name} (when present).
     *
     * @param configFile the file
     * @param className the expected {@code _class_name}
     */
    static DiffusersConfigFields open(Path configFile, String className) throws IOException {
        Objects.requireNonNull(configFile, "configFile");
        JsonNode root = ConfigJson.readObject(configFile);
        JsonNode type = root.get("_class_name");
        if (type != null && !(type.isTextual() && type.textValue().equals(className))) {
            throw new IOException(configFile + ": _class_name " + type + " is not \"" + className + "\"");
        }
        return new DiffusersConfigFields(configFile, root);
    }

    Path file() {
        return file;
    }

    /** The field's node, null when absent or JSON null; marks the field as read. */
    private JsonNode node(String field) {
        read.add(field);
        JsonNode n = root.get(field);
        return n == null || n.isNull() ? null : n;
    }

    IOException error(String field, JsonNode n, String expected) {
        return new IOException(file + ": field " + field + " is " + n + ", expected " + expected);
    }

    int integer(String field, int fallback) throws IOException {
        JsonNode n = node(field);
        return n == null ? fallback : integer(field, n);
    }

    private int integer(String field, JsonNode n) throws IOException {
        // 2.0 is an integer for Python's int(); 2.5 is not
        if (!n.isNumber() || !n.canConvertToInt() || n.doubleValue() != Math.rint(n.doubleValue())) {
            throw error(field, n, "an integer");
        }
        return n.intValue();
    }

    /** An integer field that may be null (absent): null then. */
    Integer integerOrNull(String field) throws IOException {
        JsonNode n = node(field);
        return n == null ? null : integer(field, n);
    }

    /** An integer, or a list of equal integers (diffusers' per-block form of a field used whole here). */
    int uniformInteger(String field, int fallback) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isArray()) {
            return integer(field, n);
        }
        checkList(field, n);
        if (n.isEmpty()) {
            throw error(field, n, "an integer");
        }
        int first = integer(field, n.get(0));
        for (JsonNode e : n) {
            if (integer(field, e) != first) {
                throw new IOException(file + ": field " + field + " " + n + " is not supported (per-block "
                        + "entries must be equal)");
            }
        }
        return first;
    }

    double number(String field, double fallback) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isNumber()) {
            throw error(field, n, "a number");
        }
        return n.doubleValue();
    }

    boolean bool(String field, boolean fallback) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isBoolean()) {
            throw error(field, n, "true or false");
        }
        return n.booleanValue();
    }

    String text(String field, String fallback) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback;
        }
        if (!n.isTextual()) {
            throw error(field, n, "a string");
        }
        return n.textValue();
    }

    /** A string field that may be null (absent); null then. */
    String textOrNull(String field) throws IOException {
        return text(field, null);
    }

    /** A list of strings; fallback when absent. */
    List<String> texts(String field, List<String> fallback) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback;
        }
        checkList(field, n);
        List<String> out = new ArrayList<>();
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw error(field, n, "a list of strings");
            }
            out.add(e.textValue());
        }
        return out;
    }

    /** A list of integers; fallback when absent. */
    List<Integer> integers(String field, List<Integer> fallback) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback;
        }
        checkList(field, n);
        List<Integer> out = new ArrayList<>();
        for (JsonNode e : n) {
            out.add(integer(field, e));
        }
        return out;
    }

    /**
     * diffusers' "int or tuple" fields: an integer repeated {@code levels} times, or a list of
     * exactly {@code levels} integers; {@code fallback} (an int) when absent; null when absent
     * and fallback is null.
     */
    List<Integer> integerPerLevel(String field, Integer fallback, int levels) throws IOException {
        JsonNode n = node(field);
        if (n == null) {
            return fallback == null ? null : Collections.nCopies(levels, fallback);
        }
        if (n.isArray()) {
            checkList(field, n);
            if (n.size() != levels) {
                throw new IOException(file + ": field " + field + " " + n + " has " + n.size()
                        + " entries, down_block_types " + levels);
            }
            List<Integer> out = new ArrayList<>();
            for (JsonNode e : n) {
                out.add(integer(field, e));
            }
            return out;
        }
        return Collections.nCopies(levels, integer(field, n));
    }

    /** A field this version supports at one value only: absent/null, or equal to {@code supported}. */
    void require(String field, Object supported, String why) throws IOException {
        JsonNode n = node(field);
        if (n == null && supported == null) {
            return;
        }
        boolean ok = n == null // absent: diffusers' default, which is the supported value
                || (supported instanceof Boolean b && n.isBoolean() && n.booleanValue() == b)
                || (supported instanceof String s && n.isTextual() && n.textValue().equals(s))
                || (supported instanceof Number x && n.isNumber() && n.doubleValue() == x.doubleValue());
        if (!ok) {
            throw new IOException(file + ": field " + field + " " + n + " is not supported (only "
                    + (supported == null ? "null" : supported instanceof String ? "\"" + supported + "\"" : supported)
                    + (why.isEmpty() ? "" : "; " + why) + ")");
        }
    }

    /** {@code only_cross_attention}-like fields: false, or a list of false. */
    void requireFalseOrFalseList(String field) throws IOException {
        JsonNode n = node(field);
        if (n == null || (n.isBoolean() && !n.booleanValue())) {
            return;
        }
        if (n.isArray()) {
            boolean allFalse = true;
            for (JsonNode e : n) {
                allFalse &= e.isBoolean() && !e.booleanValue();
            }
            if (allFalse) {
                return;
            }
        }
        throw new IOException(file + ": field " + field + " " + n + " is not supported (only false)");
    }

    /** Fields with no effect on the forward pass here: marked read, values not used. */
    void ignore(String... fields) {
        Collections.addAll(read, fields);
    }

    /**
     * Refuses every field not read so far whose value is something other than null or false:
     * an unknown field that could change the network.
     */
    void refuseUnread() throws IOException {
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String field = it.next();
            if (field.startsWith("_") || read.contains(field)) {
                continue;
            }
            JsonNode n = root.get(field);
            if (!n.isNull() && !(n.isBoolean() && !n.booleanValue())) {
                throw new IOException(file + ": field " + field + " " + n + " is not supported (unknown to this "
                        + "version; only null or false accepted)");
            }
        }
    }

    private void checkList(String field, JsonNode n) throws IOException {
        if (!n.isArray() || n.size() > MAX_LIST) {
            throw error(field, n, "a list of at most " + MAX_LIST + " entries");
        }
    }
}
