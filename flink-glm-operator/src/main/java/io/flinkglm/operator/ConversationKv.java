package io.flinkglm.operator;

import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.KvSnapshot;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.configuration.ReadableConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
 * x head dim x 4} bytes per token plus an 8-byte trailer per block, CRC32 and dtype), so a conversation
 * restored from them continues with the very numbers it would have had without a failure; KV kept by
 * an engine whose cache has another dtype is converted on import ({@link KvSnapshot}). The token ids the KV covers are
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

    private static final Logger LOG = LoggerFactory.getLogger(ConversationKv.class);

    /** What this operator keeps, and for which model. */
    record Policy(GlmOptions.KvPersistence persistence, int minTokens, long maxBytes, int blockSize, long fingerprint) {
        static Policy of(ReadableConfig config, long modelFingerprint) {
            return new Policy(config.get(GlmOptions.KV_PERSISTENCE), config.get(GlmOptions.KV_MIN_TOKENS),
                    config.get(GlmOptions.KV_MAX_BYTES).getBytes(), config.get(GlmOptions.BLOCK_SIZE), modelFingerprint);
        }
    }

    private final MapState<Integer, byte[]> blocks;
    private final ValueState<Meta> meta;
    private Policy policy;
    private LongCounter refused;
    private LongCounter dropped;
    private boolean refusalLogged;

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

    /**
     * Sets what to keep once the model is known (the operator's {@code open}).
     *
     * @param refused counts turns whose kept KV was computed by other weights or blocks, and recomputed
     * @param dropped counts conversations whose KV passed {@link GlmOptions#KV_MAX_BYTES}
     */
    void open(Policy policy, LongCounter refused, LongCounter dropped) {
        this.policy = policy;
        this.refused = refused;
        this.dropped = dropped;
    }

    /** Whether {@code turn} keeps its conversation's KV in state ({@link GlmOptions#KV_PERSISTENCE}). */
    boolean keeps(Turn turn) {
        return switch (policy.persistence()) {
            case NEVER -> false;
            case ALWAYS -> turn.remember();
            case AUTO -> turn.remember() && turn.promptTokens().length >= policy.minTokens();
        };
    }

    /**
     * Imports the current conversation's kept KV blocks into {@code request} and asks for the blocks from
     * the first one not yet full. KV of other weights (a redeploy on a fine-tuned checkpoint of the same
     * shape) or of another block size is dropped: the turn recomputes its history, counted and logged once.
     *
     * @param context the conversation's tokens before this turn
     */
    void prepare(GenerationRequest.Builder request, Turn turn, int[] context, Object key) throws Exception {
        Meta kept = meta.value();
        if (kept != null && (kept.fingerprint != policy.fingerprint() || kept.blockSize != policy.blockSize())) {
            clear();
            refused.add(1L);
            if (!refusalLogged) {
                refusalLogged = true;
                LOG.info("KV state of conversation {} (and maybe others) was computed by other weights or blocks"
                        + " (fingerprint {}, {} tokens per block; this model's {}, {}): dropped, the history is"
                        + " recomputed", key, Long.toHexString(kept.fingerprint), kept.blockSize,
                        Long.toHexString(policy.fingerprint()), policy.blockSize());
            }
            kept = null;
        }
        KvSnapshot snapshot = kept == null ? null : snapshot(context, turn.promptTokens());
        if (snapshot != null) {
            request.importedKv(snapshot);
            request.exportKvFrom(snapshot.fullBlocks());
        } else {
            if (kept != null) {
                clear(); // blocks that no longer match the conversation's tokens
            }
            request.exportKvFrom(0);
        }
    }

    /** Keeps the blocks a turn exported; returns the conversation's KV bytes in state now (0: none kept). */
    long keep(KvSnapshot exported) throws Exception {
        if (store(exported, policy.maxBytes())) {
            return meta.value().bytes;
        }
        dropped.add(1L); // past glm.state.kv-max-bytes: the conversation goes on from its tokens
        return 0;
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
