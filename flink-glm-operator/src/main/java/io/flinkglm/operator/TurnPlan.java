package io.flinkglm.operator;

import org.apache.flink.annotation.Internal;

/** What {@link ConversationCore#plan} decides for one input: a {@link Turn} to generate, or a {@link Rejection}. */
@Internal
sealed interface TurnPlan permits Turn, Rejection {}
