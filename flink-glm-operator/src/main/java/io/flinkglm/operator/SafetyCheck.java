package io.flinkglm.operator;

import io.flinkglm.records.SafetyVerdict;
import io.flinkglm.runtime.safety.SafetyClassifier;
import io.flinkglm.runtime.safety.SafetyPolicy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.apache.flink.util.function.SerializableFunction;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Classifies one text per record with the GLM-4 safety classifier, as an async function: Flink's
 * own {@code AsyncWaitOperator} bounds the classifications in flight, checkpoints them and
 * re-submits them after a restore (classification samples nothing, so a replay scores the same).
 * Each classification is one prefill; the policy prefix is shared through the engine's prefix cache.
 *
 * <pre>{@code
 * AsyncDataStream.orderedWait(inputs, SafetyCheck.prompts(conf), 5, TimeUnit.MINUTES, 64);
 * }</pre>
 */
@PublicEvolving
public class SafetyCheck<T> extends RichAsyncFunction<T, Moderated<T>> {
    private static final long serialVersionUID = 1L;

    /** Which text of a record is checked (null: none, the record passes), and the ids its verdict carries. */
    public interface Subject<T> extends SerializableFunction<T, String> {
        String requestId(T record);

        String conversationId(T record);
    }

    private final Configuration config;
    private final SafetyVerdict.Checked checked;
    private final Subject<T> subject;
    private transient GlmWorker worker;
    private transient SafetyClassifier classifier;

    public SafetyCheck(Configuration config, SafetyVerdict.Checked checked, Subject<T> subject) {
        this.config = config;
        this.checked = checked;
        this.subject = subject;
    }

    @Override
    public void open(OpenContext context) {
        // The classifier is made on first use: a pipeline that checks nothing holds no engine.
    }

    private SafetyClassifier classifier() {
        if (classifier != null) {
            return classifier;
        }
        worker = GlmWorker.acquire(config, "safety-" + checked + "-"
                + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        classifier = new SafetyClassifier(worker.engine(), worker.tokenizer(), policy(config));
        return classifier;
    }

    /** The policy {@link GlmOptions#MODERATION_POLICY} names, or GLM-4's SafetyBench categories. */
    static SafetyPolicy policy(ReadableConfig config) {
        return config.getOptional(GlmOptions.MODERATION_POLICY)
                .map(p -> {
                    try {
                        return SafetyPolicy.load(Path.of(p));
                    } catch (IOException e) {
                        throw new IllegalArgumentException("cannot read safety policy " + p + ": " + e.getMessage(), e);
                    }
                })
                .orElseGet(SafetyPolicy::glm4SafetyBench);
    }

    /** The wire record of a verdict. */
    static SafetyVerdict record(io.flinkglm.runtime.safety.SafetyVerdict v, String requestId, String conversationId,
                                SafetyVerdict.Checked checked) {
        return new SafetyVerdict(requestId, conversationId, checked, v.probabilities(), v.flaggedCategories(),
                v.flagged(), v.openAiCategoryScores());
    }

    @Override
    public void asyncInvoke(T input, ResultFuture<Moderated<T>> result) {
        String text = subject.apply(input);
        if (text == null) {
            result.complete(List.of(new Moderated<>(input, null, null))); // nothing to check: passes as is
            return;
        }
        String requestId = subject.requestId(input);
        var which = checked == SafetyVerdict.Checked.PROMPT
                ? io.flinkglm.runtime.safety.SafetyVerdict.Checked.PROMPT
                : io.flinkglm.runtime.safety.SafetyVerdict.Checked.COMPLETION;
        SafetyClassifier classifier = classifier(); // a model that cannot load is the job's failure, not the record's
        try {
            classifier.classify(requestId + "/" + checked, text, which).whenComplete((v, failure) ->
                    result.complete(List.of(failure != null
                            ? new Moderated<>(input, null, "moderation_failed: " + failure.getMessage())
                            : new Moderated<>(input, record(v, requestId, subject.conversationId(input), checked), null))));
        } catch (RuntimeException e) { // this text cannot be classified (past the context, ...): only it fails
            result.complete(List.of(new Moderated<>(input, null, "moderation_failed: " + e.getMessage())));
        }
    }

    @Override
    public void timeout(T input, ResultFuture<Moderated<T>> result) {
        result.complete(List.of(new Moderated<>(input, null, "timeout: safety classification took longer than " + config.get(GlmOptions.REQUEST_TIMEOUT))));
    }

    @Override
    public void close() {
        if (worker != null) {
            worker.close();
        }
    }
}
