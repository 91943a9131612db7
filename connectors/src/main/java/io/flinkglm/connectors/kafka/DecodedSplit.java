package io.flinkglm.connectors.kafka;

import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.Decoded;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import io.flinkglm.records.Sourced;
import org.apache.flink.annotation.PublicEvolving;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Splits a stream of {@code Decoded<T>} into the values, each with the {@link Origin} it was read at, and a
 * side output of dead letters, in one operator.
 *
 * <pre>{@code
 * DecodedSplit<Prompt> split = DecodedSplit.of(decoded, Prompt.class);
 * split.values().map(ChatInput::ofPrompt, ...);             // DataStream<Sourced<Prompt>>
 * split.deadLetters().sinkTo(RecordKafkaSink.deadLetters()...build());
 * }</pre>
 */
@PublicEvolving
public final class DecodedSplit<T> {

    /** The side output the dead letters leave on; other operators may emit to it too. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("dead-letters", TypeInformation.of(DeadLetter.class));

    private final SingleOutputStreamOperator<Sourced<T>> values;

    private DecodedSplit(SingleOutputStreamOperator<Sourced<T>> values) {
        this.values = values;
    }

    public static <T> DecodedSplit<T> of(DataStream<Decoded<T>> decoded, Class<T> type) {
        return new DecodedSplit<>(decoded
                .process(new Router<T>(), Sourced.typeInfo(type))
                .name("split " + type.getSimpleName() + " / dead letters")
                .uid("split-" + type.getSimpleName()));
    }

    public SingleOutputStreamOperator<Sourced<T>> values() {
        return values;
    }

    public DataStream<DeadLetter> deadLetters() {
        return values.getSideOutput(DEAD_LETTERS);
    }

    private static final class Router<T> extends ProcessFunction<Decoded<T>, Sourced<T>> {
        @Override
        public void processElement(Decoded<T> decoded, Context context, Collector<Sourced<T>> out) {
            if (decoded.isValue()) {
                out.collect(decoded.sourced());
            } else {
                context.output(DEAD_LETTERS, decoded.deadLetter());
            }
        }
    }
}
