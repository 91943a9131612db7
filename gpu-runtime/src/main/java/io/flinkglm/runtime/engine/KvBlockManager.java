package io.flinkglm.runtime.engine;

import org.apache.flink.annotation.Internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * Who owns which KV block: fixed-size blocks, a block table per sequence, reference counts, and a
 * prefix cache (vLLM's automatic prefix caching). A full block of tokens is identified by the hash
 * chain {@code hash(parentHash, tokens of the block)}, so two prompts with the same first n blocks
 * share those n blocks. Only full blocks are shared, and a sequence only writes positions past its
 * shared prefix, so a shared block is never written (no copy-on-write needed).
 *
 * <p>A block is in exactly one state: <em>used</em> (ref count > 0), <em>cached</em> (ref count 0
 * but still holding a hashed prefix, reusable until evicted) or <em>free</em>. Allocation takes free
 * blocks first and then evicts cached ones, least recently released first. Pure bookkeeping: the
 * bytes live in the backend's {@code KvCache}.
 *
 * <pre>{@code
 * KvBlockManager blocks = new KvBlockManager(1024, 16, true);
 * KvBlockManager.PrefixHit hit = blocks.findCachedPrefix(tokens, tokens.length - 1);
 * if (blocks.allocate(seqId, hit, tokens.length)) { int[] table = blocks.blockTable(seqId); ... }
 * blocks.free(seqId);
 * }</pre>
 */
@Internal
public final class KvBlockManager {
    private static final long ROOT_HASH = 0x243F6A8885A308D3L;

    private final int numBlocks;
    private final int blockSize;
    private final boolean prefixCaching;
    private final int[] refCount;                                  // [numBlocks]
    private final long[] hashOf;                                   // [numBlocks] valid when tokensOf[b] != null
    private final int[][] tokensOf;                                // [numBlocks][blockSize] or null: not in the prefix cache
    private final ArrayDeque<Integer> free = new ArrayDeque<>();   // ref 0, not cached
    private final LinkedHashSet<Integer> evictable = new LinkedHashSet<>(); // ref 0, cached; eviction order first
    private final Map<Long, Integer> cachedByHash = new HashMap<>();
    private final Map<Long, Table> tables = new HashMap<>();

    /** Full blocks of a token prefix already in the cache, and the hash the chain continues from. */
    public record PrefixHit(int[] blocks, long lastHash) {
        public static final PrefixHit NONE = new PrefixHit(new int[0], ROOT_HASH);

        public int tokens(int blockSize) {
            return blocks.length * blockSize;
        }
    }

    private static final class Table {
        final List<Integer> blocks = new ArrayList<>();
        int hashedBlocks;   // leading blocks already registered in (or matched from) the prefix cache
        long lastHash = ROOT_HASH;
    }

    public KvBlockManager(int numBlocks, int blockSize, boolean prefixCaching) {
        if (numBlocks <= 0 || blockSize <= 0) {
            throw new IllegalArgumentException("KV block pool needs positive blocks and block size, got "
                    + numBlocks + " x " + blockSize);
        }
        this.numBlocks = numBlocks;
        this.blockSize = blockSize;
        this.prefixCaching = prefixCaching;
        this.refCount = new int[numBlocks];
        this.hashOf = new long[numBlocks];
        this.tokensOf = new int[numBlocks][];
        for (int b = 0; b < numBlocks; b++) {
            free.add(b);
        }
    }

    public int numBlocks() {
        return numBlocks;
    }

    public int blockSize() {
        return blockSize;
    }

    /** Blocks an allocation may take: free plus cached-but-unreferenced. */
    public int allocatableBlocks() {
        return free.size() + evictable.size();
    }

    /** Blocks with ref count 0 still holding a cached prefix. */
    public int cachedBlocks() {
        return evictable.size();
    }

    /** Blocks with ref count 0 and no cached content. */
    public int freeBlocks() {
        return free.size();
    }

    /** Blocks some sequence references. */
    public int usedBlocks() {
        return numBlocks - free.size() - evictable.size();
    }

    public int blocksFor(int tokens) {
        return (tokens + blockSize - 1) / blockSize;
    }

    /** The longest run of cached full blocks that {@code tokens[0..maxTokens)} starts with. */
    public PrefixHit findCachedPrefix(int[] tokens, int maxTokens) {
        if (!prefixCaching) {
            return PrefixHit.NONE;
        }
        long hash = ROOT_HASH;
        List<Integer> hit = new ArrayList<>();
        for (int start = 0; start + blockSize <= maxTokens; start += blockSize) {
            long h = blockHash(hash, tokens, start, blockSize);
            Integer b = cachedByHash.get(h);
            // 64-bit hashes: the token check makes a collision a cache miss, never wrong KV.
            if (b == null || !Arrays.equals(tokensOf[b], 0, blockSize, tokens, start, start + blockSize)) {
                break;
            }
            hit.add(b);
            hash = h;
        }
        return new PrefixHit(hit.stream().mapToInt(Integer::intValue).toArray(), hash);
    }

    /**
     * Gives a new sequence the hit's blocks plus fresh ones covering {@code tokens} positions.
     * All or nothing: returns false, changing nothing, when the pool cannot supply them.
     */
    public boolean allocate(long sequenceId, PrefixHit hit, int tokens) {
        if (tables.containsKey(sequenceId)) {
            throw new IllegalStateException("sequence " + sequenceId + " already has blocks");
        }
        int fresh = Math.max(0, blocksFor(tokens) - hit.blocks().length);
        int hitsNowEvictable = 0;
        for (int b : hit.blocks()) {
            hitsNowEvictable += refCount[b] == 0 ? 1 : 0;
        }
        if (fresh > allocatableBlocks() - hitsNowEvictable) {
            return false;
        }
        Table t = new Table();
        for (int b : hit.blocks()) {
            if (refCount[b]++ == 0) {
                evictable.remove(b);
            }
            t.blocks.add(b);
        }
        t.hashedBlocks = hit.blocks().length;
        t.lastHash = hit.lastHash();
        for (int i = 0; i < fresh; i++) {
            t.blocks.add(take());
        }
        tables.put(sequenceId, t);
        return true;
    }

    /** Grows a sequence's table to cover {@code tokens} positions; false (nothing changed) when the pool is short. */
    public boolean ensureCapacity(long sequenceId, int tokens) {
        Table t = table(sequenceId);
        int more = blocksFor(tokens) - t.blocks.size();
        if (more > allocatableBlocks()) {
            return false;
        }
        for (int i = 0; i < more; i++) {
            t.blocks.add(take());
        }
        return true;
    }

    /** Registers the sequence's newly completed full blocks (KV for positions < computed) in the prefix cache. */
    public void cacheFullBlocks(long sequenceId, int[] tokens, int computed) {
        if (!prefixCaching) {
            return;
        }
        Table t = table(sequenceId);
        while ((t.hashedBlocks + 1) * blockSize <= computed) {
            int b = t.blocks.get(t.hashedBlocks);
            long h = blockHash(t.lastHash, tokens, t.hashedBlocks * blockSize, blockSize);
            // Another sequence may have computed the same block meanwhile: keep the first copy cached.
            if (!cachedByHash.containsKey(h) && tokensOf[b] == null) {
                cachedByHash.put(h, b);
                hashOf[b] = h;
                tokensOf[b] = Arrays.copyOfRange(tokens, t.hashedBlocks * blockSize, (t.hashedBlocks + 1) * blockSize);
            }
            t.lastHash = h;
            t.hashedBlocks++;
        }
    }

    public boolean hasBlocks(long sequenceId) {
        return tables.containsKey(sequenceId);
    }

    public int[] blockTable(long sequenceId) {
        return table(sequenceId).blocks.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Drops a sequence's references. Blocks are released tail first, so when the cache must evict
     * it drops a conversation's latest blocks before the shared prefix they extend (as vLLM does).
     */
    public void free(long sequenceId) {
        Table t = tables.remove(sequenceId);
        if (t == null) {
            return;
        }
        for (int i = t.blocks.size() - 1; i >= 0; i--) {
            int b = t.blocks.get(i);
            if (--refCount[b] == 0) {
                if (tokensOf[b] != null) {
                    evictable.add(b);
                } else {
                    free.add(b);
                }
            }
        }
    }

    /** Forgets every cached prefix (e.g. after the KV memory was lost); used blocks are untouched. */
    public void resetPrefixCache() {
        for (Iterator<Integer> it = evictable.iterator(); it.hasNext(); ) {
            int b = it.next();
            uncache(b);
            it.remove();
            free.add(b);
        }
    }

    /** Sequences holding blocks. */
    public int sequences() {
        return tables.size();
    }

    private int take() {
        Integer b = free.poll();
        if (b == null) {
            Iterator<Integer> lru = evictable.iterator();
            b = lru.next();
            lru.remove();
            uncache(b);
        }
        refCount[b] = 1;
        return b;
    }

    private void uncache(int b) {
        if (tokensOf[b] != null) {
            cachedByHash.remove(hashOf[b], b);
            tokensOf[b] = null;
        }
    }

    private Table table(long sequenceId) {
        Table t = tables.get(sequenceId);
        if (t == null) {
            throw new IllegalStateException("sequence " + sequenceId + " holds no KV blocks");
        }
        return t;
    }

    /** The prefix-cache key of a full block: its tokens chained onto the hash of everything before it. */
    static long blockHash(long parent, int[] tokens, int from, int count) {
        long h = parent * 0x9E3779B97F4A7C15L + count;
        for (int i = from; i < from + count; i++) {
            h = (h ^ tokens[i]) * 0xBF58476D1CE4E5B9L;
            h ^= h >>> 31;
        }
        return h ^ (h >>> 29);
    }
}
