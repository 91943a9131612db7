/**
 * A Confluent Schema Registry client over {@code java.net.http}: register and look up by id, cached.
 *
 * <pre>{@code
 * int id = new SchemaRegistryClient(URI.create("http://registry:8081")).register("glm.prompts-value", schema);
 * }</pre>
 */
package io.flinkglm.connectors.registry;
