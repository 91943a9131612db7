package io.flinkglm.runtime.model;

import java.nio.charset.StandardCharsets;
import org.apache.flink.annotation.Internal;

/**
 * 64-bit FNV-1a (draft-eastlake-fnv), the one stable non-cryptographic hash of the project: unlike
 * {@link String#hashCode()} or {@link java.util.Objects#hash} it is the same in every JVM and release, so
 * seeds from request ids and fingerprints of models survive a restart.
 *
 * <pre>{@code
 * long h = Fnv1a.hash64("req-7"); // the same value on every replay
 * long g = Fnv1a.mix(Fnv1a.OFFSET, 42);
 * }</pre>
 */
@Internal
public final class Fnv1a {
    public static final long OFFSET = 0xcbf29ce484222325L;
    private static final long PRIME = 0x100000001b3L;

    private Fnv1a() {}

    /** The hash of a string's UTF-8 bytes. */
    public static long hash64(String text) {
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
