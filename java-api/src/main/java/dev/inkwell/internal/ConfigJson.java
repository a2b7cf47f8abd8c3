package dev.inkwell.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Reading the small JSON files of a model folder ({@code config.json},
 * {@code scheduler_config.json}, {@code model_index.json}) the same way everywhere: bounded in
 * size before anything is read (configs are a few kilobytes), parsed with Jackson, required to
 * be one JSON object, every failure an {@link IOException} naming the file. NaN and Infinity
 * parse (Python's json module writes them), so that the typed readers can refuse them naming
 * the field rather than failing here with a parser message.
 */
public final class ConfigJson {
    /** Largest file read: 1 MiB, hundreds of times a real config. */
    public static final long MAX_BYTES = 1 << 20;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .build();

    private ConfigJson() {}

    /**
     * Reads a file that must hold one JSON object.
     *
     * @param file the file
     * @return its root object
     * @throws IOException if the file cannot be read, is over {@link #MAX_BYTES}, is not valid
     *     JSON or not an object (the message names the file)
     */
    public static JsonNode readObject(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new IOException(file + ": " + size + " bytes, over the " + MAX_BYTES + "-byte limit for a config file");
        }
        return parseObject(Files.readAllBytes(file), file.toString());
    }

    /**
     * Parses text that must be one JSON object.
     *
     * @param json the bytes (UTF-8)
     * @param source what to call it in messages (a file name)
     * @return its root object
     * @throws IOException if it is not valid JSON or not an object (the message names the source)
     */
    public static JsonNode parseObject(byte[] json, String source) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new IOException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IOException(source + ": not a JSON object");
        }
        return root;
    }
}
