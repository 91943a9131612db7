/**
 * The records that travel on Kafka: inputs {@link io.flinkglm.records.Prompt} and
 * {@link io.flinkglm.records.ToolResult}; outputs {@link io.flinkglm.records.Completion},
 * {@link io.flinkglm.records.FunctionCall}, {@link io.flinkglm.records.SafetyVerdict} and
 * {@link io.flinkglm.records.DeadLetter}. Java records, which Flink 2.2 serializes as POJOs.
 *
 * <p>Wire names are snake_case; every field is documented once, in {@code connectors/RECORDS.md}.
 *
 * <pre>{@code
 * Prompt p = new Prompt("req-1", "conv-7", null, "Hello", null, null, null, null, Task.COMPLETE);
 * assert p.violations().isEmpty();
 * }</pre>
 */
package io.flinkglm.records;
