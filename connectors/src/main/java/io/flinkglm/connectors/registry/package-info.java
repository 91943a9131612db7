/**
 * A Confluent Schema Registry client over {@code java.net.http}: register, look up under a subject, read
 * versions, look up by id or GUID (cached, bounded), with refusals typed apart from outages; and
 * Confluent's subject name strategies.
 *
 * <pre>{@code
 * int id = new SchemaRegistryClient(URI.create("http://registry:8081")).register("glm.prompts-value", schema);
 * }</pre>
 */
package io.flinkglm.connectors.registry;
