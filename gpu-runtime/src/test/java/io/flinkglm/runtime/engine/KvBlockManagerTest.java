package io.flinkglm.runtime.engine;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class KvBlockManagerTest {
    private static final int BS = 4;

    private static int[] tokens(int n, int offset) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = offset + i;
        }
        return t;
    }

    @Test
    void allocationAndFreeLeaveEveryBlockFreeOrCached() {
        KvBlockManager m = new KvBlockManager(10, BS, true);
        int[] t = tokens(10, 0);
        assertThat(m.allocate(1, KvBlockManager.PrefixHit.NONE, 10)).isTrue();
        assertThat(m.blockTable(1)).hasSize(3);
        assertThat(m.usedBlocks()).isEqualTo(3);
        m.cacheFullBlocks(1, t, 10);
        m.free(1);

        assertThat(m.usedBlocks()).isZero();
        assertThat(m.cachedBlocks()).isEqualTo(2); // two full blocks hashed, the partial third is plain free
        assertThat(m.freeBlocks() + m.cachedBlocks()).isEqualTo(10);
    }

    @Test
    void identicalPrefixesShareFullBlocks() {
        KvBlockManager m = new KvBlockManager(10, BS, true);
        int[] a = tokens(9, 0);
        m.allocate(1, KvBlockManager.PrefixHit.NONE, 9);
        m.cacheFullBlocks(1, a, 9);

        int[] b = tokens(12, 0); // same first 9 tokens, then more
        KvBlockManager.PrefixHit hit = m.findCachedPrefix(b, b.length - 1);
        assertThat(hit.blocks()).containsExactly(m.blockTable(1)[0], m.blockTable(1)[1]);
        assertThat(m.allocate(2, hit, 12)).isTrue();
        assertThat(m.usedBlocks()).isEqualTo(4); // 3 for a, 1 new for b

        m.free(1);
        m.free(2);
        assertThat(m.usedBlocks()).isZero();
    }

    @Test
    void aDifferentPrefixDoesNotMatchLaterBlocks() {
        KvBlockManager m = new KvBlockManager(10, BS, true);
        int[] a = tokens(8, 0);
        m.allocate(1, KvBlockManager.PrefixHit.NONE, 8);
        m.cacheFullBlocks(1, a, 8);
        int[] b = a.clone();
        b[0] = 99; // second block's tokens equal, but its parent differs

        assertThat(m.findCachedPrefix(b, 8).blocks()).isEmpty();
    }

    @Test
    void cachedBlocksAreEvictedLeastRecentlyReleasedFirstOnlyWhenNothingIsFree() {
        KvBlockManager m = new KvBlockManager(4, BS, true);
        int[] a = tokens(8, 0);
        int[] b = tokens(8, 100);
        m.allocate(1, KvBlockManager.PrefixHit.NONE, 8);
        m.cacheFullBlocks(1, a, 8);
        m.free(1);
        m.allocate(2, KvBlockManager.PrefixHit.NONE, 8);
        m.cacheFullBlocks(2, b, 8);
        m.free(2);
        assertThat(m.cachedBlocks()).isEqualTo(4);

        m.allocate(3, KvBlockManager.PrefixHit.NONE, 4); // evicts one of a's blocks (released first)

        assertThat(m.findCachedPrefix(b, 8).blocks()).hasSize(2);
        assertThat(m.findCachedPrefix(a, 8).blocks()).hasSizeLessThan(2);
    }

    @Test
    void allocationIsAllOrNothing() {
        KvBlockManager m = new KvBlockManager(4, BS, true);
        m.allocate(1, KvBlockManager.PrefixHit.NONE, 12);

        assertThat(m.allocate(2, KvBlockManager.PrefixHit.NONE, 8)).isFalse();
        assertThat(m.ensureCapacity(1, 20)).isFalse();
        assertThat(m.usedBlocks()).isEqualTo(3);
        assertThat(m.ensureCapacity(1, 16)).isTrue();
        m.free(1);
        assertThat(m.freeBlocks()).isEqualTo(4);
    }

    @Test
    void withoutPrefixCachingNothingIsShared() {
        KvBlockManager m = new KvBlockManager(8, BS, false);
        int[] a = tokens(8, 0);
        m.allocate(1, KvBlockManager.PrefixHit.NONE, 8);
        m.cacheFullBlocks(1, a, 8);
        m.free(1);

        assertThat(m.findCachedPrefix(a, 8).blocks()).isEmpty();
        assertThat(m.cachedBlocks()).isZero();
    }
}
