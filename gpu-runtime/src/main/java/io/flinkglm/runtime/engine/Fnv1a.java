package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.Internal;

import java.nio.charset.StandardCharsets;

/**
 * FNV-1a, 64 bits, over the UTF-8 bytes of a string: a hash that is the same in every JVM and every
 * release, unlike {@link String#hashCode()} widened or {@link java.util.Objects#hash}. It names the
 * model shape KV was exported from ({@link KvTransfer#fingerprint}) and seeds a conversation's
 * sampling from its request id (the operator's {@code TurnPlanner}), so both survive a restart.
 *
 * <pre>{@code
 * long seed = Fnv1a.hash64("req-7"); // the same value on every replay
 * }</pre>
 */
@Internal
public final class Fnv1a {
    // The 64-bit offset basis and prime of the FNV specification (draft-eastlake-fnv).
    private static final long OFFSET_BASIS = 0xcbf29ce484222325L;
    private static final long PRIME = 0x100000001b3L;

    private Fnv1a() {}

    public static long hash64(String text) {
        long h = OFFSET_BASIS;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * PRIME;
        }
        return h;
    }
}
