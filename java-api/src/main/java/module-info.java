/**
 * Inkwell: ControlNet line-art kernels for the JVM. Users see only {@code dev.inkwell};
 * the bindings, the loader and the command line stay internal.
 */
module dev.inkwell {
    requires dev.inkwell.bindings;
    requires java.desktop; // ImageIO for PNG and JPEG

    exports dev.inkwell;

    // inkwell bench's optional anchors (OpenCV, BoofCV, libtorch, JNI), from the benchmarks jar
    uses dev.inkwell.cli.bench.AnchorProvider;
}
