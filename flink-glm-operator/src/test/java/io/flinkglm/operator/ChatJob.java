package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.testkit.CollectingSink;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.util.List;

/**
 * A bounded chat job on the MiniCluster: the inputs in order from one source, keyed by conversation,
 * through the chat operator into memory.
 *
 * @param completions in the order the sink subtasks received them
 */
record ChatJob(List<Completion> completions, List<DeadLetter> errors, JobExecutionResult result) {

    static ChatJob run(List<ChatInput> inputs, Configuration glm, int parallelism) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(parallelism);
        CollectingSink<Completion> completions = new CollectingSink<>();
        CollectingSink<DeadLetter> errors = new CollectingSink<>();
        GlmStreams.Chat chat = GlmStreams.chat(env.fromData(inputs, TypeInformation.of(ChatInput.class))
                .keyBy(ChatInput::conversationId), glm);
        chat.completions().sinkTo(completions);
        chat.errors().sinkTo(errors);
        JobExecutionResult result = env.execute("chat");
        return new ChatJob(completions.received(), errors.received(), result);
    }

    long accumulator(String name) {
        return ((Number) result.getAccumulatorResult(name)).longValue();
    }
}
