package dev.inkwell.models;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inkwell.Activation;
import dev.inkwell.internal.ConfigJson;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * The configuration of transformers' {@code CLIPTextModel}, as its {@code text_encoder/config.json}
 * spells it ({@code CLIPTextConfig}). Each component is the JSON field of the same name in
 * snake case ({@code hiddenSize} is {@code hidden_size}).
 *
 * <p>Read by {@link #read(Path)}: the size fields are required; {@code max_position_embeddings},
 * {@code layer_norm_eps}, {@code hidden_act} and the token ids take transformers' defaults
 * (77, 1e-5, {@code "quick_gelu"}, 49406 / 49407 / 1) when absent; {@code projection_dim}
 * (CLIPTextModelWithProjection's) and the training-only fields (dropout, initializer) are
 * ignored. A field of the wrong JSON type, NaN, a non-positive size or an unsupported
 * {@code hidden_act} is an {@link IOException} naming the file, the field and the value.
 *
 * @param vocabSize {@code vocab_size}: rows of the token embedding (49408 in CLIP)
 * @param hiddenSize {@code hidden_size}: width of the residual stream (768 in SD 1.x, 1024 in SD 2.x)
 * @param intermediateSize {@code intermediate_size}: width of the MLP's hidden layer
 * @param numHiddenLayers {@code num_hidden_layers}: encoder layers
 * @param numAttentionHeads {@code num_attention_heads}: heads per layer, dividing hiddenSize
 * @param maxPositionEmbeddings {@code max_position_embeddings}: rows of the position embedding,
 *     the longest input (77)
 * @param layerNormEps {@code layer_norm_eps}: epsilon of every layer norm, finite and >= 0
 * @param hiddenAct {@code hidden_act}: the MLP's activation, {@code "quick_gelu"} (SD 1.x) or
 *     {@code "gelu"} (SD 2.x, erf form)
 * @param bosTokenId {@code bos_token_id}
 * @param eosTokenId {@code eos_token_id}
 * @param padTokenId {@code pad_token_id} (the model's; the SD tokenizers pad with eos)
 */
public record ClipTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int numHiddenLayers,
        int numAttentionHeads, int maxPositionEmbeddings, double layerNormEps, String hiddenAct, int bosTokenId,
        int eosTokenId, int padTokenId) {


    /**
     * Validates the values (see the class comment).
     *
     * @param vocabSize positive
     * @param hiddenSize positive, divisible by numAttentionHeads
     * @param intermediateSize positive
     * @param numHiddenLayers positive
     * @param numAttentionHeads positive
     * @param maxPositionEmbeddings positive
     * @param layerNormEps finite and >= 0
     * @param hiddenAct "quick_gelu" or "gelu"
     * @param bosTokenId any
     * @param eosTokenId any
     * @param padTokenId any
     * @throws NullPointerException if hiddenAct is null
     * @throws IllegalArgumentException naming the field and its value if one is invalid
     */
    public ClipTextConfig {
        Objects.requireNonNull(hiddenAct, "hiddenAct");
        positive("vocab_size", vocabSize);
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("max_position_embeddings", maxPositionEmbeddings);
        if (hiddenSize % numAttentionHeads != 0) {
            throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                    + numAttentionHeads);
        }
        if (!Double.isFinite(layerNormEps) || layerNormEps < 0) {
            throw new IllegalArgumentException("layer_norm_eps " + layerNormEps + " is not finite and >= 0");
        }
        activationOf(hiddenAct);
    }

    /**
     * Reads and validates a {@code config.json}.
     *
     * @param configFile the file ({@code text_encoder/config.json})
     * @return the configuration
     * @throws IOException if the file cannot be read, is not a JSON object, or a field is
     *     missing, of the wrong type or invalid (the message names the file and the field)
     */
    public static ClipTextConfig read(Path configFile) throws IOException {
        Objects.requireNonNull(configFile, "configFile");
        JsonNode root = ConfigJson.readObject(configFile);
        JsonNode type = root.get("model_type");
        if (type != null && !(type.isTextual() && type.textValue().equals("clip_text_model"))) {
            throw new IOException(configFile + ": model_type " + type + " is not \"clip_text_model\" (for a full "
                    + "CLIPModel config, use its text_config)");
        }
        Fields f = new Fields(configFile, root);
        try {
            return new ClipTextConfig(f.integer("vocab_size", null), f.integer("hidden_size", null),
                    f.integer("intermediate_size", null), f.integer("num_hidden_layers", null),
                    f.integer("num_attention_heads", null), f.integer("max_position_embeddings", 77),
                    f.number("layer_norm_eps", 1e-5), f.text("hidden_act", "quick_gelu"),
                    f.integer("bos_token_id", 49406), f.integer("eos_token_id", 49407), f.integer("pad_token_id", 1));
        } catch (IllegalArgumentException e) {
            throw new IOException(configFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Size of one attention head: hiddenSize / numAttentionHeads.
     *
     * @return the head size
     */
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /**
     * The MLP's activation as Inkwell's: {@link Activation#QUICK_GELU} for {@code "quick_gelu"},
     * {@link Activation#GELU} (erf form) for {@code "gelu"}.
     *
     * @return the activation
     */
    public Activation activation() {
        return activationOf(hiddenAct);
    }

    private static Activation activationOf(String hiddenAct) {
        return switch (hiddenAct) {
            case "quick_gelu" -> Activation.QUICK_GELU;
            case "gelu" -> Activation.GELU;
            default -> throw new IllegalArgumentException("hidden_act \"" + hiddenAct
                    + "\" is not supported (quick_gelu or gelu)");
        };
    }

    private static void positive(String field, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(field + " " + value + " is not positive");
        }
    }

    /** Typed reads of one config's fields; every error names the file and the field. */
    private record Fields(Path file, JsonNode root) {
        int integer(String field, Integer fallback) throws IOException {
            JsonNode n = present(field, fallback != null);
            if (n == null) {
                return fallback;
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected an integer");
            }
            return n.intValue();
        }

        double number(String field, double fallback) throws IOException {
            JsonNode n = present(field, true);
            if (n == null) {
                return fallback;
            }
            if (!n.isNumber()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected a number");
            }
            return n.doubleValue();
        }

        String text(String field, String fallback) throws IOException {
            JsonNode n = present(field, true);
            if (n == null) {
                return fallback;
            }
            if (!n.isTextual()) {
                throw new IOException(file + ": field " + field + " is " + n + ", expected a string");
            }
            return n.textValue();
        }

        private JsonNode present(String field, boolean optional) throws IOException {
            JsonNode n = root.get(field);
            if (n == null || n.isNull()) {
                if (!optional) {
                    throw new IOException(file + ": required field " + field + " is missing");
                }
                return null;
            }
            return n;
        }
    }
}
