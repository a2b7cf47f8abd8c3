package dev.inkwell.spark;

import java.util.Locale;

/** The layout {@code prepare-dataset} writes. */
public enum OutputFormat {
    /**
     * ControlNet's own training layout ({@code tutorial_dataset.py}): {@code source/<name>.png}
     * (the control map), {@code target/<name>.png} (the resized image) and {@code prompt.json},
     * one JSON object {@code {"source", "target", "prompt"}} per line.
     */
    CONTROLNET,
    /**
     * Parquet files with the columns diffusers' {@code train_controlnet.py} reads by default:
     * {@code image} and {@code conditioning_image} (structs {@code {bytes: PNG, path}}, the Arrow
     * layout of Hugging Face datasets' {@code Image} feature) and {@code text}, under {@code data/},
     * with a dataset card ({@code README.md}) that declares the two image columns as images.
     */
    PARQUET;

    /**
     * The format named on the command line.
     *
     * @param name {@code controlnet} or {@code parquet}, any case
     * @return the format
     * @throws IllegalArgumentException for any other name
     */
    public static OutputFormat parse(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "controlnet" -> CONTROLNET;
            case "parquet" -> PARQUET;
            default -> throw new IllegalArgumentException("--format must be controlnet or parquet, got '" + name + "'");
        };
    }
}
