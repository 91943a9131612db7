/**
 * Jobs a user copies from, and the local demo.
 *
 * <ul>
 *   <li>{@link io.flinkglm.examples.BulkInferenceJob}: prompts → completions, each prompt on its own.
 *   <li>{@link io.flinkglm.examples.ChatWithToolsJob}: prompts and tool results → completions and function
 *       calls, one keyed conversation each.
 *   <li>{@link io.flinkglm.examples.ModerationJob}: prompts → safety verdicts; flagged prompts are refused,
 *       the others answered.
 *   <li>{@link io.flinkglm.examples.LocalDemo}: {@code ChatWithToolsJob} on an in-process broker and MiniCluster
 *       ({@code bin/demo}).
 * </ul>
 *
 * <p>Every job takes {@code --key value} arguments, one per option of {@code GlmOptions},
 * {@code KafkaConnectorOptions} and {@link io.flinkglm.examples.JobOptions} ({@link io.flinkglm.examples.JobArguments}).
 */
package io.flinkglm.examples;
