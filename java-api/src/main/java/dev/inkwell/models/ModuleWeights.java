package dev.inkwell.models;

import dev.inkwell.ElementType;
import dev.inkwell.Inkwell;
import dev.inkwell.Tensor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The weights of one model as its modules load them: each tensor copied from the checkpoint
 * into the context's memory in the compute type, and recorded here as soon as it exists so that
 * one {@link #close()} frees them all (on success, with the model; on a failed load, at once).
 * Not thread-safe while loading; read-only afterwards.
 */
final class ModuleWeights implements AutoCloseable {
    /** Where the weights come from: a checkpoint ({@link SafeTensors#load}) or a generator. */
    @FunctionalInterface
    interface Source {
        /** Tensor {@code name} of {@code shape} in {@code context}'s memory as {@code type}; the caller owns it. */
        Tensor load(String name, Inkwell context, ElementType type, long... shape) throws IOException;
    }

    private final Source checkpoint;
    private final Inkwell context;
    private final ElementType type;
    private final List<Tensor> owned = new ArrayList<>();

    ModuleWeights(SafeTensors checkpoint, Inkwell context, ElementType type) {
        this(Objects.requireNonNull(checkpoint, "checkpoint")::load, context, type);
    }

    ModuleWeights(Source source, Inkwell context, ElementType type) {
        this.checkpoint = Objects.requireNonNull(source, "source");
        this.context = Objects.requireNonNull(context, "context");
        this.type = Objects.requireNonNull(type, "type");
    }

    Inkwell context() {
        return context;
    }

    /** Builds a model's modules on weights; the model owns the weights once built. */
    @FunctionalInterface
    interface Builder<M> {
        M build(ModuleWeights w) throws IOException;
    }

    /** {@code builder}'s model on float32 weights from {@code checkpoint}, which are freed if building fails. */
    static <M> M load(SafeTensors checkpoint, Inkwell context, Builder<M> builder) throws IOException {
        return own(new ModuleWeights(checkpoint, context, ElementType.FLOAT32), builder);
    }

    /**
     * {@code builder}'s model on float32 weights made up from {@code seed} ({@link RandomWeights}),
     * which are freed if building fails.
     */
    static <M> M random(long seed, Inkwell context, Builder<M> builder) {
        try {
            return own(new ModuleWeights(new RandomWeights(seed), context, ElementType.FLOAT32), builder);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a generator does not read files
        }
    }

    private static <M> M own(ModuleWeights w, Builder<M> builder) throws IOException {
        try {
            return builder.build(w);
        } catch (IOException | RuntimeException | Error e) {
            w.close();
            throw e;
        }
    }

    /** The tensor {@code name}, which must have {@code shape}; the IOException names file and tensor. */
    Tensor get(String name, long... shape) throws IOException {
        Tensor t = checkpoint.load(name, context, type, shape);
        owned.add(t);
        return t;
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
        owned.clear();
    }
}
