package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.api.operators.legacy.YieldingOperatorFactory;

/** Creates {@link GlmChatOperator}s with the mailbox executor they yield to. */
public class GlmChatOperatorFactory extends AbstractStreamOperatorFactory<Completion>
        implements OneInputStreamOperatorFactory<ChatInput, Completion>, YieldingOperatorFactory<Completion> {
    private static final long serialVersionUID = 1L;
    private final Configuration config;

    public GlmChatOperatorFactory(Configuration config) {
        this.config = config;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T extends StreamOperator<Completion>> T createStreamOperator(StreamOperatorParameters<Completion> parameters) {
        return (T) new GlmChatOperator(parameters, config);
    }

    @Override
    public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
        return GlmChatOperator.class;
    }
}
