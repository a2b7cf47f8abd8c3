package dev.inkwell.internal;

/**
 * Conversions between float and the 16-bit types, bit for bit as the native library's
 * element_types.hpp: widening is exact; narrowing rounds to nearest, ties to even, overflows
 * to infinity, and turns a NaN into a quiet NaN with its sign and the top payload bits
 * (Float.floatToFloat16 keeps NaN payloads differently, so it is not used).
 */
public final class HalfFloats {
    private HalfFloats() {}

    public static float float16ToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exponent = (bits >>> 10) & 0x1F, mantissa = bits & 0x3FF;
        if (exponent == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
        }
        if (exponent != 0) {
            return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
        }
        float magnitude = mantissa * 0x1p-24f; // zero or subnormal, exact
        return Float.intBitsToFloat(sign | Float.floatToRawIntBits(magnitude));
    }

    public static short floatToFloat16(float f) {
        int x = Float.floatToRawIntBits(f);
        int sign = (x >>> 16) & 0x8000, magnitude = x & 0x7FFF_FFFF;
        if (magnitude > 0x7F80_0000) {
            return (short) (sign | 0x7E00 | ((magnitude >>> 13) & 0x3FF)); // NaN, quiet
        }
        if (magnitude >= 0x4780_0000) {
            return (short) (sign | 0x7C00); // >= 2^16, infinity
        }
        if (magnitude >= 0x3880_0000) { // normal, or rounds up to infinity
            int h = shiftRightRoundEven(magnitude - 0x3800_0000, 13);
            return (short) (sign | Math.min(h, 0x7C00));
        }
        if (magnitude < 0x3300_0000) {
            return (short) sign; // below 2^-25: zero
        }
        int significand = (magnitude & 0x7F_FFFF) | 0x80_0000;
        int shift = 126 - (magnitude >>> 23);
        return (short) (sign | shiftRightRoundEven(significand, shift));
    }

    public static float bfloat16ToFloat(short h) {
        return Float.intBitsToFloat((h & 0xFFFF) << 16);
    }

    public static short floatToBfloat16(float f) {
        int x = Float.floatToRawIntBits(f);
        if ((x & 0x7FFF_FFFF) > 0x7F80_0000) {
            return (short) ((x >>> 16) | 0x0040); // NaN, quiet
        }
        return (short) shiftRightRoundEven(x, 16);
    }

    /** Unsigned value >>> shift, rounded to nearest, ties to even; shift in 1..31. */
    private static int shiftRightRoundEven(int value, int shift) {
        int kept = value >>> shift;
        int rest = value & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        boolean up = Integer.compareUnsigned(rest, half) > 0 || (rest == half && (kept & 1) != 0);
        return kept + (up ? 1 : 0);
    }
}
