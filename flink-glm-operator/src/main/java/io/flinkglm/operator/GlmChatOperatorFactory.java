package io.flinkglm.operator;

import io.flinkglm.records.Completion;
import io.flinkglm.records.Sourced;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.operators.AbstractStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.OneInputStreamOperatorFactory;
import org.apache.flink.streaming.api.operators.StreamOperator;
import org.apache.flink.streaming.api.operators.StreamOperatorParameters;
import org.apache.flink.streaming.api.operators.legacy.YieldingOperatorFactory;

/** Creates {@link GlmChatOperator}s with the mailbox executor they yield to. */
@Internal
public class GlmChatOperatorFactory extends AbstractStreamOperatorFactory<Sourced<Completion>>
        implements OneInputStreamOperatorFactory<ChatInput, Sourced<Completion>>, YieldingOperatorFactory<Sourced<Completion>> {
    private static final long serialVersionUID = 1L;
    private final Configuration config;

    public GlmChatOperatorFactory(Configuration config) {
        this.config = config;
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T extends StreamOperator<Sourced<Completion>>> T createStreamOperator(StreamOperatorParameters<Sourced<Completion>> parameters) {
        return (T) new GlmChatOperator(parameters, config);
    }

    @Override
    public Class<? extends StreamOperator> getStreamOperatorClass(ClassLoader classLoader) {
        return GlmChatOperator.class;
    }
}
