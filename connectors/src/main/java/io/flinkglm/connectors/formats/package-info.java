/**
 * JSON and Avro (Confluent wire format) for every record, through one generic path: records map to Jackson
 * trees in {@link io.flinkglm.connectors.formats.WireJson}; Avro walks its schema over the same trees.
 *
 * <pre>{@code
 * RecordSerde<Prompt> serde = RecordSerde.create(Prompt.class, RecordFormat.AVRO, registry, "glm.prompts");
 * }</pre>
 */
package io.flinkglm.connectors.formats;
