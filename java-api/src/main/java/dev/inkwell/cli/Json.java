package dev.inkwell.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON for manifest files and the CLI's own JSON output, read with Jackson and handed out as
 * plain Java values: objects become {@code Map<String, Object>} (in file order), arrays
 * {@code List<Object>}, every number a {@code Double} (callers cast to it), plus String,
 * Boolean and null. Strict JSON: no NaN, no comments, no duplicate keys, nothing after the
 * value.
 */
public final class Json {
    /** Thread-safe once built; shared by every parse. */
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {}

    /**
     * Parses one JSON document.
     *
     * @param text the document
     * @return its value as Map / List / Double / String / Boolean / null
     * @throws IllegalArgumentException if {@code text} is not one valid JSON value; the message
     *     starts with "JSON: " and names the offset
     */
    public static Object parse(String text) {
        JsonNode root;
        try {
            root = MAPPER.readTree(text);
        } catch (JacksonException e) {
            throw new IllegalArgumentException("JSON: " + e.getOriginalMessage() + offset(e.getLocation()), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new IllegalArgumentException("JSON: unexpected end of input at offset " + text.length());
        }
        return toJava(root);
    }

    private static String offset(JsonLocation at) {
        return at == null || at.getCharOffset() < 0 ? "" : " at offset " + at.getCharOffset();
    }

    /** Jackson's tree as the shapes callers expect; depth is bounded by Jackson's nesting limit. */
    private static Object toJava(JsonNode node) {
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                map.put(e.getKey(), toJava(e.getValue()));
            }
            return map;
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>(node.size());
            for (JsonNode element : node) {
                list.add(toJava(element));
            }
            return list;
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        return null; // JSON null: the only node kind left in a parsed tree
    }
}
