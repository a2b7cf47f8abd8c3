package dev.inkwell.models;

import dev.inkwell.Tensor;
import java.util.function.UnaryOperator;

/** Chaining module forward passes so that each intermediate activation is freed once used. */
final class Forward {
    private Forward() {}

    /**
     * {@code f(h)}, then frees h if the caller owns it (also when f throws). Lets a chain of
     * modules read {@code h = Forward.then(h, h != input, m::forward)} with no leaks and without
     * closing the caller's input.
     *
     * @param h the input
     * @param owned whether h is an intermediate to free (false for the caller's own input)
     * @param f the module
     * @return f's new tensor
     */
    static Tensor then(Tensor h, boolean owned, UnaryOperator<Tensor> f) {
        try {
            return f.apply(h);
        } finally {
            if (owned) {
                h.close();
            }
        }
    }
}
