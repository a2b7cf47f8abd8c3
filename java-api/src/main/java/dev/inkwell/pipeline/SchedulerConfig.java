package dev.inkwell.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.inkwell.BetaSchedule;
import dev.inkwell.DdimScheduler;
import dev.inkwell.PredictionType;
import dev.inkwell.TimestepSpacing;
import dev.inkwell.internal.ConfigJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * A {@code scheduler/scheduler_config.json} read as diffusers' {@code DDIMScheduler.from_config}
 * reads it, turned into a {@link DdimScheduler}.
 *
 * <p>Fields, spelled as diffusers spells them: {@code num_train_timesteps}, {@code beta_start},
 * {@code beta_end}, {@code beta_schedule} (linear, scaled_linear, squaredcos_cap_v2),
 * {@code trained_betas}, {@code clip_sample}, {@code clip_sample_range}, {@code set_alpha_to_one},
 * {@code steps_offset}, {@code prediction_type} (epsilon, v_prediction, sample),
 * {@code timestep_spacing} (leading, trailing, linspace), {@code rescale_betas_zero_snr} and
 * {@code thresholding} (false only: dynamic thresholding is not implemented). A missing or null
 * field takes {@code DDIMScheduler}'s default, except that a {@code PNDMScheduler} config
 * (what Stable Diffusion 1.5 ships) takes PNDM's {@code set_alpha_to_one = false}: diffusers'
 * pipelines swap it for DDIM with {@code DDIMScheduler.from_config(pipe.scheduler.config)},
 * which carries PNDM's filled-in defaults over. {@code _class_name} must be
 * {@code DDIMScheduler}, {@code PNDMScheduler} or absent; {@link #notes()} says when a PNDM
 * config was taken. {@code _diffusers_version}, PNDM's {@code skip_prk_steps} (how PNDM
 * starts, nothing in DDIM) and {@code dynamic_thresholding_ratio} / {@code sample_max_value}
 * (used only with thresholding) are ignored; any other field is refused by name, since it
 * would change the math in a scheduler Inkwell does not have.
 *
 * @param scheduler the scheduler the config describes
 * @param className {@code _class_name}, or "DDIMScheduler" when absent
 * @param notes what the reader assumed, one line each (empty for a plain DDIM config)
 */
public record SchedulerConfig(DdimScheduler scheduler, String className, List<String> notes) {
    private static final Set<String> HANDLED = Set.of("num_train_timesteps", "beta_start", "beta_end",
            "beta_schedule", "trained_betas", "clip_sample", "clip_sample_range", "set_alpha_to_one", "steps_offset",
            "prediction_type", "timestep_spacing", "rescale_betas_zero_snr", "thresholding");
    private static final Set<String> IGNORED = Set.of("_class_name", "_diffusers_version", "skip_prk_steps",
            "dynamic_thresholding_ratio", "sample_max_value");

    /**
     * Copies the notes.
     *
     * @param scheduler the scheduler
     * @param className the config's class
     * @param notes the reader's notes
     * @throws NullPointerException if an argument is null
     */
    public SchedulerConfig {
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(className, "className");
        notes = List.copyOf(notes);
    }

    /**
     * Reads a scheduler config file.
     *
     * @param file {@code scheduler/scheduler_config.json}
     * @return the scheduler and what was assumed
     * @throws IOException if the file cannot be read or is not a JSON object, or a field is
     *     unknown, of the wrong type or out of range (the message names the file and the field)
     */
    public static SchedulerConfig read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        if (!Files.isRegularFile(file)) {
            throw new IOException(file + ": no such file");
        }
        return parse(file.toString(), ConfigJson.readObject(file));
    }

    /**
     * Reads a scheduler config given as JSON text (a manifest's copy of one, say), as
     * {@link #read(Path)} reads a file.
     *
     * @param json the config's JSON object
     * @param source what to call it in messages
     * @return the scheduler and what was assumed
     * @throws IOException if the text is not a JSON object, or a field is unknown, of the
     *     wrong type or out of range (the message names the source and the field)
     */
    public static SchedulerConfig parse(String json, String source) throws IOException {
        Objects.requireNonNull(json, "json");
        Objects.requireNonNull(source, "source");
        JsonNode root = ConfigJson.parseObject(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), source);
        return parse(source, root);
    }

    private static SchedulerConfig parse(String file, JsonNode root) throws IOException {
        try {
            return parseFields(file, root);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static SchedulerConfig parseFields(String file, JsonNode root) throws IOException {
        List<String> notes = new ArrayList<>();
        for (Iterator<String> it = root.fieldNames(); it.hasNext();) {
            String key = it.next();
            if (!HANDLED.contains(key) && !IGNORED.contains(key)) {
                throw new IOException(file + ": field " + key + " is not a DDIMScheduler setting (it would change the "
                        + "sampling, which Inkwell's DDIM does not do)");
            }
        }
        Fields f = new Fields(file, root);
        String className = f.text("_class_name", "DDIMScheduler");
        boolean pndm = className.equals("PNDMScheduler");
        if (!pndm && !className.equals("DDIMScheduler")) {
            throw new IOException(file + ": _class_name \"" + className
                    + "\" is not supported (DDIMScheduler, or PNDMScheduler's config taken for DDIM)");
        }
        if (pndm) {
            notes.add(file + ": PNDMScheduler config taken for DDIM, as diffusers' "
                    + "DDIMScheduler.from_config(pipe.scheduler.config) does");
        }
        if (f.bool("thresholding", false)) {
            throw new IOException(file + ": field thresholding is true; dynamic thresholding is not supported");
        }
        DdimScheduler.Builder b = DdimScheduler.builder();
        int train = f.integer("num_train_timesteps", 1000);
        b.trainTimesteps(train);
        JsonNode trained = root.get("trained_betas");
        if (trained != null && !trained.isNull()) {
            if (!trained.isArray()) {
                throw new IOException(file + ": field trained_betas is " + abbreviate(trained)
                        + ", expected a list of numbers or null");
            }
            double[] betas = new double[trained.size()];
            for (int i = 0; i < betas.length; i++) {
                if (!trained.get(i).isNumber()) {
                    throw new IOException(file + ": field trained_betas[" + i + "] is " + trained.get(i)
                            + ", expected a number");
                }
                betas[i] = trained.get(i).doubleValue();
            }
            if (betas.length != train) {
                throw new IOException(file + ": field trained_betas has " + betas.length
                        + " entries, num_train_timesteps is " + train);
            }
            b.trainedBetas(betas);
        } else {
            b.betaSchedule(switch (f.text("beta_schedule", "linear")) {
                case "linear" -> BetaSchedule.LINEAR;
                case "scaled_linear" -> BetaSchedule.SCALED_LINEAR;
                case "squaredcos_cap_v2" -> BetaSchedule.SQUAREDCOS_CAP_V2;
                default -> throw new IOException(file + ": field beta_schedule \"" + f.text("beta_schedule", "")
                        + "\" is not supported (linear, scaled_linear, squaredcos_cap_v2)");
            });
            b.betas(f.number("beta_start", 0.0001), f.number("beta_end", 0.02));
        }
        b.clipSample(f.bool("clip_sample", true), f.number("clip_sample_range", 1.0));
        b.setAlphaToOne(f.bool("set_alpha_to_one", !pndm));
        b.stepsOffset(f.integer("steps_offset", 0));
        b.predictionType(switch (f.text("prediction_type", "epsilon")) {
            case "epsilon" -> PredictionType.EPSILON;
            case "v_prediction" -> PredictionType.V_PREDICTION;
            case "sample" -> PredictionType.SAMPLE;
            default -> throw new IOException(file + ": field prediction_type \"" + f.text("prediction_type", "")
                    + "\" is not supported (epsilon, v_prediction, sample)");
        });
        b.timestepSpacing(switch (f.text("timestep_spacing", "leading")) {
            case "leading" -> TimestepSpacing.LEADING;
            case "trailing" -> TimestepSpacing.TRAILING;
            case "linspace" -> TimestepSpacing.LINSPACE;
            default -> throw new IOException(file + ": field timestep_spacing \"" + f.text("timestep_spacing", "")
                    + "\" is not supported (leading, trailing, linspace)");
        });
        b.rescaleBetasZeroSnr(f.bool("rescale_betas_zero_snr", false));
        return new SchedulerConfig(b.build(), className, notes);
    }

    private static String abbreviate(JsonNode n) {
        String s = n.toString();
        return s.length() > 60 ? s.substring(0, 57) + "..." : s;
    }

    /** Typed reads; every error names the file and the field. Null counts as absent, as in diffusers. */
    private record Fields(String file, JsonNode root) {
        private JsonNode get(String field) {
            JsonNode n = root.get(field);
            return n == null || n.isNull() ? null : n;
        }

        int integer(String field, int fallback) throws IOException {
            JsonNode n = get(field);
            if (n == null) {
                return fallback;
            }
            if (!n.isIntegralNumber() || !n.canConvertToInt()) {
                throw new IOException(file + ": field " + field + " is " + abbreviate(n) + ", expected an integer");
            }
            return n.intValue();
        }

        double number(String field, double fallback) throws IOException {
            JsonNode n = get(field);
            if (n == null) {
                return fallback;
            }
            if (!n.isNumber() || !Double.isFinite(n.doubleValue())) {
                throw new IOException(file + ": field " + field + " is " + abbreviate(n)
                        + ", expected a finite number");
            }
            return n.doubleValue();
        }

        boolean bool(String field, boolean fallback) throws IOException {
            JsonNode n = get(field);
            if (n == null) {
                return fallback;
            }
            if (!n.isBoolean()) {
                throw new IOException(file + ": field " + field + " is " + abbreviate(n) + ", expected true or false");
            }
            return n.booleanValue();
        }

        String text(String field, String fallback) throws IOException {
            JsonNode n = get(field);
            if (n == null) {
                return fallback;
            }
            if (!n.isTextual()) {
                throw new IOException(file + ": field " + field + " is " + abbreviate(n) + ", expected a string");
            }
            return n.textValue();
        }
    }
}
