package io.flinkglm.runtime.model;

import java.nio.charset.StandardCharsets;

/**
 * 64-bit FNV-1a, the one stable non-cryptographic hash of the project: seeds from request ids and
 * fingerprints of models, equal across JVMs and runs.
 *
 * <pre>{@code
 * long h = Fnv1a.of("req-7");
 * long g = Fnv1a.mix(Fnv1a.OFFSET, 42);
 * }</pre>
 */
public final class Fnv1a {
    public static final long OFFSET = 0xcbf29ce484222325L;
    private static final long PRIME = 0x100000001b3L;

    private Fnv1a() {}

    /** The hash of a string's UTF-8 bytes. */
    public static long of(String text) {
        long h = OFFSET;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * PRIME;
        }
        return h;
    }

    /** {@code h} extended by the four little-endian bytes of {@code value}. */
    public static long mix(long h, int value) {
        for (int shift = 0; shift < 32; shift += 8) {
            h = (h ^ ((value >>> shift) & 0xff)) * PRIME;
        }
        return h;
    }

    /** {@code h} extended by the eight little-endian bytes of {@code value}. */
    public static long mix(long h, long value) {
        return mix(mix(h, (int) value), (int) (value >>> 32));
    }
}
