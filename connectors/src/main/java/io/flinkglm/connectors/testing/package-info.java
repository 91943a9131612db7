/**
 * A real Kafka broker (KRaft, in-process) and a real HTTP schema registry for tests and local runs. Needs the
 * optional {@code kafka_2.13} dependency; jobs on a cluster never load this package.
 *
 * <pre>{@code
 * try (var kafka = EmbeddedKafkaBroker.start(); var registry = LocalSchemaRegistry.start()) { ... }
 * }</pre>
 */
package io.flinkglm.connectors.testing;
