/**
 * Records, formats, Kafka sources and sinks of flink-glm. Knows nothing of models: it turns Kafka bytes into
 * {@link io.flinkglm.records.Prompt}s and answers back into bytes.
 *
 * <p>A job wires source → split → operator → sinks like this:
 *
 * <pre>{@code
 * Configuration conf = ...;  // glm.kafka.* options, see KafkaConnectorOptions
 * KafkaSource<Decoded<Prompt>> source = RecordKafkaSource.prompts().configure(conf).build();
 * DecodedSplit<Prompt> split = DecodedSplit.of(
 *         env.fromSource(source, WatermarkStrategy.noWatermarks(), "prompts"), Prompt.class);
 *
 * DataStream<Completion> completions = ...;  // the inference operator, fed by split.values()
 * completions.sinkTo(RecordKafkaSink.completions().configure(conf).build());
 * split.deadLetters().sinkTo(RecordKafkaSink.deadLetters().configure(conf).build());
 * }</pre>
 *
 * <p>Field names and types of every record: {@code connectors/RECORDS.md}.
 */
package io.flinkglm.connectors;
