package io.flinkglm.operator;

import io.flinkglm.runtime.engine.KvSnapshot;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.apache.flink.annotation.Internal;
import org.apache.flink.api.common.state.KeyedStateStore;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * The current conversation's KV cache in keyed state, one map entry per KV block, append-only: a turn
 * writes the blocks it filled and the partial last block, never the history again. With RocksDB (or
 * ForSt) incremental checkpoints, what a checkpoint uploads per turn therefore grows with that turn's
 * new tokens, and no single state value grows with the conversation (a Java array caps one at 2 GB).
 *
 * <p>The blocks are exactly the engine's cache (float32 on the CPU backend: {@code 2 x layers x kv heads
 * x head dim x 4} bytes per token plus 8 bytes of CRC per block), so a conversation restored from them
 * continues with the very numbers it would have had without a failure. The token ids the KV covers are
 * the first {@link Meta#tokens} of the conversation's own tokens, so they are not stored twice.
 */
@Internal
final class ConversationKv {
    /** What the blocks are: which weights computed them, in blocks of how many tokens, covering how many. */
    public static final class Meta {
        public long fingerprint;
        public int blockSize;
        public int tokens;
        public long bytes;

        public Meta() {}
    }

    private final MapState<Integer, byte[]> blocks;
    private final ValueState<Meta> meta;

    ConversationKv(KeyedStateStore store, Optional<StateTtlConfig> ttl) {
        MapStateDescriptor<Integer, byte[]> blocksDescriptor = new MapStateDescriptor<>("kv-blocks", Types.INT,
                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);
        ValueStateDescriptor<Meta> metaDescriptor = new ValueStateDescriptor<>("kv-meta", TypeInformation.of(Meta.class));
        ttl.ifPresent(t -> {
            blocksDescriptor.enableTimeToLive(t);
            metaDescriptor.enableTimeToLive(t);
        });
        blocks = store.getMapState(blocksDescriptor);
        meta = store.getState(metaDescriptor);
    }

    /** What is kept for the current key, or null. */
    Meta meta() throws Exception {
        return meta.value();
    }

    /**
     * The kept KV of the prompt's first tokens, as a snapshot to import; null when none of it is usable.
     * Normally the prompt extends the conversation's context and all of it is; after the context was cut
     * ({@link ContextWindow}) only the whole blocks of the prefix both still share (the system messages) are.
     *
     * @param context the conversation's tokens, whose first {@link Meta#tokens} the kept KV covers
     */
    KvSnapshot snapshot(int[] context, int[] prompt) throws Exception {
        Meta m = meta.value();
        if (m == null || m.tokens == 0 || m.tokens > context.length) {
            return null;
        }
        int shared = Arrays.mismatch(context, 0, m.tokens, prompt, 0, Math.min(m.tokens, prompt.length));
        int usable = shared < 0 ? Math.min(m.tokens, prompt.length) : shared;
        if (usable < m.tokens) {
            usable = usable / m.blockSize * m.blockSize; // only blocks the prompt still shares whole
        }
        if (usable == 0) {
            return null;
        }
        int count = KvSnapshot.blockCount(usable, m.blockSize);
        List<byte[]> kept = new ArrayList<>(count);
        for (int j = 0; j < count; j++) {
            byte[] block = blocks.get(j);
            if (block == null) {
                return null;
            }
            kept.add(block);
        }
        return new KvSnapshot(m.fingerprint, m.blockSize, Arrays.copyOf(context, usable), 0, kept);
    }

    /**
     * Writes the blocks a turn exported (from its first block on) and what they now cover. Returns false,
     * keeping nothing, when the conversation's KV would pass {@code maxBytes}: it goes on from its tokens.
     */
    boolean store(KvSnapshot exported, long maxBytes) throws Exception {
        Meta m = meta.value();
        long bytes = 0;
        for (int j = 0; j < exported.firstBlock(); j++) { // blocks kept from earlier turns, unchanged
            byte[] block = m == null ? null : blocks.get(j);
            if (block == null) {
                clear(); // the export assumed blocks this state does not have: start over next turn
                return false;
            }
            bytes += block.length;
        }
        bytes += exported.bytes();
        if (bytes > maxBytes) {
            clear();
            return false;
        }
        int total = KvSnapshot.blockCount(exported.tokens().length, exported.blockSize());
        for (int j = 0; j < exported.blocks().size(); j++) {
            blocks.put(exported.firstBlock() + j, exported.blocks().get(j));
        }
        if (m != null) {
            for (int j = total; j < KvSnapshot.blockCount(m.tokens, m.blockSize); j++) {
                blocks.remove(j);
            }
        }
        Meta next = new Meta();
        next.fingerprint = exported.fingerprint();
        next.blockSize = exported.blockSize();
        next.tokens = exported.tokens().length;
        next.bytes = bytes;
        meta.update(next);
        return true;
    }

    void clear() {
        blocks.clear();
        meta.clear();
    }
}
