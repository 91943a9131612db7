package io.flinkglm.connectors.registry;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A least-recently-used map of at most {@code capacity} entries, safe for several threads. Bounded because a
 * topic may name ids without end (a producer re-registering on every deploy, or garbage bytes that happen to
 * frame as ids); Confluent's client bounds its caches the same way ({@code max.schemas.per.subject}, 1,000).
 */
final class BoundedCache<K, V> {

    private final Map<K, V> entries;

    BoundedCache(int capacity) {
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > capacity;
            }
        };
    }

    synchronized V get(K key) {
        return entries.get(key);
    }

    synchronized void put(K key, V value) {
        entries.put(key, value);
    }

    synchronized int size() {
        return entries.size();
    }
}
