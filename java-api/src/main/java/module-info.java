/**
 * Inkwell: ControlNet line-art kernels for the JVM. Users see {@code dev.inkwell},
 * {@code dev.inkwell.models} (safetensors checkpoints) and {@code dev.inkwell.pipeline} (colorization); the bindings, the loader and the
 * command line stay internal.
 */
module dev.inkwell {
    requires dev.inkwell.bindings;
    requires java.desktop; // ImageIO for PNG and JPEG
    requires com.fasterxml.jackson.databind; // JSON: manifests, safetensors headers, model configs

    exports dev.inkwell;
    exports dev.inkwell.models;
    exports dev.inkwell.pipeline;

    // inkwell bench's optional anchors (OpenCV, BoofCV, libtorch, JNI), from the benchmarks jar
    uses dev.inkwell.cli.bench.AnchorProvider;
}
