package io.flinkglm.examples;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** The jobs defer to the cluster's checkpointing and restart settings and fill in only what it lacks. */
class GlmKafkaPipelineTest {

    @Test
    void aClusterWithoutSettingsGetsCheckpointsEveryTenSecondsAndExponentialDelayRestarts() {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        GlmKafkaPipeline.create(env, new Configuration());
        assertThat(env.getCheckpointConfig().getCheckpointInterval()).isEqualTo(10_000);
        assertThat(env.getConfiguration().get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
    }

    @Test
    void theClustersIntervalAndRestartStrategyWinUnlessTheJobSetsItsInterval() {
        Configuration cluster = new Configuration();
        cluster.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofSeconds(3));
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(cluster);
        GlmKafkaPipeline.create(env, new Configuration());
        assertThat(env.getCheckpointConfig().getCheckpointInterval()).isEqualTo(3_000);
        assertThat(env.getConfiguration().get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("fixed-delay");

        Configuration job = new Configuration();
        job.set(JobOptions.CHECKPOINT_INTERVAL, Duration.ofMillis(700));
        StreamExecutionEnvironment withJobInterval = StreamExecutionEnvironment.getExecutionEnvironment(cluster);
        GlmKafkaPipeline.create(withJobInterval, job);
        assertThat(withJobInterval.getCheckpointConfig().getCheckpointInterval()).isEqualTo(700);
    }
}
