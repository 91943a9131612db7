package io.flinkglm.runtime.model;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class Fnv1aTest {
    @Test
    void matchesThePublishedFnv1a64Vectors() {
        assertThat(Fnv1a.hash64("")).isEqualTo(0xcbf29ce484222325L);
        assertThat(Fnv1a.hash64("a")).isEqualTo(0xaf63dc4c8601ec8cL);
        assertThat(Fnv1a.hash64("foobar")).isEqualTo(0x85944171f73967e8L);
    }
}
