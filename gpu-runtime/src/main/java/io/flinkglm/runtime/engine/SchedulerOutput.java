package io.flinkglm.runtime.engine;

import java.util.List;

/**
 * What the scheduler decided for one step: the chunks to run, KV blocks to fill from imported
 * bytes before running them, and requests that can never run.
 *
 * <pre>{@code
 * SchedulerOutput step = scheduler.schedule(System.nanoTime());
 * ModelRunnerOutput out = runner.execute(step);
 * }</pre>
 */
record SchedulerOutput(List<Chunk> chunks, List<BlockImport> imports, List<Rejection> rejections,
                       int preemptions) {

    SchedulerOutput {
        chunks = List.copyOf(chunks);
        imports = List.copyOf(imports);
        rejections = List.copyOf(rejections);
    }

    int batchTokens() {
        return chunks.stream().mapToInt(c -> c.tokens().length).sum();
    }

    /**
     * Tokens {@code startPosition..} of one sequence; {@code sample} is set when the chunk reaches
     * the end of the sequence's known tokens, so its last logits choose the next token.
     */
    record Chunk(long sequenceId, int[] tokens, int startPosition, int[] blockTable, Sample sample) {
    }

    /**
     * How to turn the chunk's last logits into a token (or class probabilities); with a
     * {@code constraint}, only tokens that continue its output from {@code constraintState}.
     */
    record Sample(SamplingParams params, int[] history, int position, int[] classifyTokenIds,
                  io.flinkglm.runtime.constraint.Constraint constraint, int constraintState) {
    }

    /** Block {@code sourceBlock} of imported KV bytes goes into KV block {@code targetBlock}. */
    record BlockImport(KvTransfer.Imported source, int sourceBlock, int targetBlock) {
    }

    record Rejection(long sequenceId, String message) {
    }
}
