/**
 * What the flink-glm tests and the local demo share, and no product jar holds: a real Kafka broker (KRaft,
 * in-process), a real HTTP schema registry, the tiny random GLM-4 checkpoint, a reader of committed records,
 * a polling {@link io.flinkglm.testkit.Await}, an in-memory sink, and a JUnit 5 extension that starts a
 * MiniCluster and a broker for a test class and names topics per test.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaMiniClusterExtension KAFKA = KafkaMiniClusterExtension.withSlots(1).withTinyModel(DType.F32, 42);
 * }</pre>
 */
package io.flinkglm.testkit;
