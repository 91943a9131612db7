package io.flinkglm.operator;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;
import org.apache.flink.configuration.MemorySize;

import java.time.Duration;
import io.flinkglm.runtime.engine.Fairness;
import org.apache.flink.annotation.PublicEvolving;

/**
 * Every setting of the GLM operators, as Flink {@link ConfigOption}s with their defaults. Set them
 * in the job's {@code Configuration} or as {@code --glm.model.path ...} arguments of the examples.
 *
 * <pre>{@code
 * Configuration conf = new Configuration();
 * conf.set(GlmOptions.MODEL_PATH, "/models/glm-4-9b-chat-hf");
 * conf.set(GlmOptions.CAPACITY, 32);
 * }</pre>
 */
@PublicEvolving
public final class GlmOptions {
    private GlmOptions() {}

    public static final ConfigOption<String> MODEL_PATH = ConfigOptions.key("glm.model.path")
            .stringType().noDefaultValue()
            .withDescription("Directory of a GLM-4 checkpoint in Hugging Face or THUDM layout, with a tokenizer.");

    public static final ConfigOption<String> BACKEND = ConfigOptions.key("glm.backend")
            .stringType().defaultValue("auto")
            .withDescription("cpu, cuda, or auto (cuda when a device and its libraries load, else cpu).");

    public static final ConfigOption<Integer> CPU_THREADS = ConfigOptions.key("glm.cpu.threads")
            .intType().defaultValue(0)
            .withDescription("Threads of the CPU backend's worker pool, the calling thread included. 0 (the "
                    + "default): this JVM's available cores divided by the CPU backends open in it, counting the new "
                    + "one (one backend per model path and TaskManager, shared by its slots' engines; a step uses "
                    + "the pool while another engine's concurrent step runs on its own thread). Several "
                    + "TaskManagers on one machine should set it to cores / TaskManagers. Ignored on CUDA.");

    public static final ConfigOption<Boolean> SHARED_ENGINE = ConfigOptions.key("glm.engine.shared")
            .booleanType().defaultValue(false)
            .withDescription("One engine for all subtasks of a TaskManager (one GPU worker per machine) "
                    + "instead of one per subtask. The model is loaded once per JVM either way.");

    public static final ConfigOption<Integer> CAPACITY = ConfigOptions.key("glm.capacity")
            .intType().defaultValue(16)
            .withDescription("Requests in flight per subtask. When full the operator yields to the mailbox, "
                    + "so input reading slows down (backpressure) instead of memory growing.");

    public static final ConfigOption<Long> KV_CACHE_BYTES = ConfigOptions.key("glm.engine.kv-cache-bytes")
            .longType().defaultValue(256L << 20)
            .withDescription("Bytes of the engine's paged KV pool (blocks of glm.engine.block-size tokens).");

    public static final ConfigOption<Integer> BLOCK_SIZE = ConfigOptions.key("glm.engine.block-size")
            .intType().defaultValue(16)
            .withDescription("Tokens per KV block; prefix caching shares whole blocks.");

    public static final ConfigOption<Integer> MAX_BATCH_TOKENS = ConfigOptions.key("glm.engine.max-batch-tokens")
            .intType().defaultValue(512)
            .withDescription("Token budget of one engine step (decodes first, prefill chunks fill the rest).");

    public static final ConfigOption<Integer> MAX_TOKENS = ConfigOptions.key("glm.generation.max-tokens")
            .intType().defaultValue(256)
            .withDescription("Default cap on generated tokens per turn; a prompt's sampling.max_tokens overrides it.");

    public static final ConfigOption<Integer> MAX_TOKENS_LIMIT = ConfigOptions.key("glm.generation.max-tokens-limit")
            .intType().defaultValue(4096)
            .withDescription("The most tokens one turn may generate, whatever its sampling.max_tokens asks: a larger"
                    + " request is capped here (and always by the context left after its prompt), and its completion"
                    + " ends with finish_reason length. Bounds the work one record can cause.");

    public static final ConfigOption<Double> TEMPERATURE = ConfigOptions.key("glm.generation.temperature")
            .doubleType().defaultValue(0.0)
            .withDescription("Default sampling temperature; 0 is greedy.");

    public static final ConfigOption<Double> TOP_P = ConfigOptions.key("glm.generation.top-p")
            .doubleType().defaultValue(1.0)
            .withDescription("Default nucleus sampling threshold.");

    public static final ConfigOption<Integer> TOP_K = ConfigOptions.key("glm.generation.top-k")
            .intType().defaultValue(0)
            .withDescription("Default top-k; 0 keeps every token.");

    public static final ConfigOption<Duration> REQUEST_TIMEOUT = ConfigOptions.key("glm.request.timeout")
            .durationType().defaultValue(Duration.ofMinutes(5))
            .withDescription("How long one turn may take from submission; past it the turn ends with an error record.");

    public static final ConfigOption<Duration> STATE_TTL = ConfigOptions.key("glm.state.ttl")
            .durationType().noDefaultValue()
            .withDescription("Forget a conversation this long after its last turn (unset: keep forever).");

    public static final ConfigOption<KvPersistence> KV_PERSISTENCE = ConfigOptions.key("glm.state.kv-persistence")
            .enumType(KvPersistence.class).defaultValue(KvPersistence.NEVER)
            .withDescription("Keep each conversation's KV cache in keyed state, one map entry per KV block, so after"
                    + " a restore or rescale the next turn prefills only its new tokens. NEVER: recompute the"
                    + " history after a restore; ALWAYS: keep every chat conversation's KV; AUTO: keep it only for"
                    + " conversations of at least glm.state.kv-min-tokens tokens, where reading it back beats"
                    + " recomputing it.");

    public static final ConfigOption<Integer> KV_MIN_TOKENS = ConfigOptions.key("glm.state.kv-min-tokens")
            .intType().defaultValue(16)
            .withDescription("With glm.state.kv-persistence AUTO, the conversation length in tokens from which its KV"
                    + " is kept; shorter conversations recompute after a restore. Default: one KV block. On the CPU"
                    + " backend reading KV back beat recomputing it from the shortest history measured (13 tokens),"
                    + " see docs/KV-STATE.md; raise it where prefill is cheap (a GPU) or state is scarce.");

    public static final ConfigOption<MemorySize> KV_MAX_BYTES = ConfigOptions.key("glm.state.kv-max-bytes")
            .memoryType().defaultValue(MemorySize.parse("256mb"))
            .withDescription("The most KV one conversation keeps in state. Past it the conversation keeps only its"
                    + " tokens and recomputes its history after a restore: it never fails for its size.");

    public static final ConfigOption<Integer> MAX_CONTEXT_TOKENS = ConfigOptions.key("glm.conversation.max-context-tokens")
            .intType().noDefaultValue()
            .withDescription("The most tokens a conversation's prompt may hold. Unset: the model's context minus the"
                    + " turn's max tokens, so every turn has room for its whole answer.");

    public static final ConfigOption<ContextOverflow> CONTEXT_OVERFLOW = ConfigOptions.key("glm.conversation.overflow")
            .enumType(ContextOverflow.class).defaultValue(ContextOverflow.TRUNCATE_OLDEST)
            .withDescription("What a turn does when the conversation no longer fits glm.conversation.max-context-tokens."
                    + " TRUNCATE_OLDEST: leave out whole oldest turns (a user message and everything answering it)"
                    + " until it fits, always keeping the system messages and tools; REJECT: the turn is a dead"
                    + " letter (context_exceeded) and the conversation stays as it was; RESET: start over from the"
                    + " system messages and the new turn. A single turn that alone does not fit is a dead letter"
                    + " under every policy.");

    /** What a turn does when its conversation outgrows the context window. */
    public enum ContextOverflow { TRUNCATE_OLDEST, REJECT, RESET }

    /** Whether a conversation's KV cache is kept in keyed state. */
    public enum KvPersistence { NEVER, ALWAYS, AUTO }

    /** Which texts the safety classifier checks. */
    public enum ModerationMode { NONE, PROMPTS, COMPLETIONS, BOTH, STREAMING }

    /** What happens to a prompt the classifier flags. */
    public enum FlaggedPrompt { REFUSE, DROP }

    public static final ConfigOption<ModerationMode> MODERATION = ConfigOptions.key("glm.moderation.mode")
            .enumType(ModerationMode.class).defaultValue(ModerationMode.NONE)
            .withDescription("Classify prompts before generation, completions after it, both, or none; or "
                    + "STREAMING: classify each completion in its prompt's context while it is generated, every "
                    + "glm.moderation.stream-interval tokens and at the end, and stop it at the first flagged check "
                    + "(finish_reason content_filter, no text). Every checked text yields a SafetyVerdict on the "
                    + "safety output (under STREAMING one per turn: the flagged check's, or the final one's).");

    public static final ConfigOption<Integer> MODERATION_STREAM_INTERVAL = ConfigOptions.key("glm.moderation.stream-interval")
            .intType().defaultValue(32)
            .withDescription("With glm.moderation.mode STREAMING, the generated tokens between two checks of a "
                    + "completion. Each check computes only the new tokens and a short question suffix (the prefix "
                    + "cache serves the rest), so a multiple of glm.engine.block-size avoids recomputing a partial "
                    + "block per check; a smaller interval stops a flagged completion sooner at more prefill work.");

    public static final ConfigOption<FlaggedPrompt> FLAGGED_PROMPTS = ConfigOptions.key("glm.moderation.flagged-prompts")
            .enumType(FlaggedPrompt.class).defaultValue(FlaggedPrompt.REFUSE)
            .withDescription("A flagged prompt is never generated: REFUSE answers it with a completion whose "
                    + "finish_reason is content_filter, DROP answers it with its verdict only.");

    public static final ConfigOption<String> MODERATION_POLICY = ConfigOptions.key("glm.moderation.policy")
            .stringType().noDefaultValue()
            .withDescription("A JSON safety policy file (categories, wording, thresholds, labels); "
                    + "unset: GLM-4's SafetyBench categories.");

    public static final ConfigOption<Integer> MODERATION_CAPACITY = ConfigOptions.key("glm.moderation.capacity")
            .intType().defaultValue(64)
            .withDescription("Classifications in flight per subtask (one prefill each, no decoding).");

    public static final ConfigOption<Integer> GENERATION_PRIORITY = ConfigOptions.key("glm.generation.priority")
            .intType().defaultValue(0)
            .withDescription("The engine priority of prompts that carry none, from -1000 to 1000; lower is served "
                    + "sooner, and a waiting request preempts running ones of a higher number when the batch is full. "
                    + "A prompt's own priority outside -1000..1000 makes it a dead letter (invalid_priority).");

    public static final ConfigOption<Fairness> TENANTS_FAIRNESS = ConfigOptions.key("glm.tenants.fairness")
            .enumType(Fairness.class).defaultValue(Fairness.FAIR)
            .withDescription("How the engine orders waiting prompts of one priority: FAIR, the tenant with the least "
                    + "service first (virtual token counters: 1 per prompt token, 2 per output token, over the "
                    + "tenant's weight), or FCFS, by arrival. Prompts without a tenant share one.");

    public static final ConfigOption<String> TENANTS_WEIGHTS = ConfigOptions.key("glm.tenants.weights")
            .stringType().noDefaultValue()
            .withDescription("Shares under FAIR as tenant:weight pairs, e.g. acme:3,beta:1 (acme is served three "
                    + "times beta's tokens while both wait); positive numbers, unlisted tenants weigh 1.");

    public static final ConfigOption<Integer> TENANTS_METRICS_MAX = ConfigOptions.key("glm.tenants.metrics-max-tenants")
            .intType().defaultValue(1000)
            .withDescription("Distinct tenants with their own metric group per subtask; later ones are counted "
                    + "together under the tenant \"other\", so a stream of tenant ids cannot exhaust the metrics system.");

    public static final ConfigOption<String> TENANTS_BUDGETS = ConfigOptions.key("glm.tenants.budgets")
            .stringType().noDefaultValue()
            .withDescription("Token budgets as tenant:tokens/window entries, e.g. acme:2000000/1h,beta:50000/10min; "
                    + "*:N/window is the budget of every tenant not named (each its own). Prompts without a tenant "
                    + "are the tenant default. A turn is charged at admission its new messages' tokens plus its "
                    + "max tokens (a reservation); windows are tumbling from the epoch, chosen by the record's "
                    + "timestamp. Unset: no budgets and no budget stage. A malformed entry fails the job.");

    public static final ConfigOption<OverBudget> TENANTS_OVER_BUDGET = ConfigOptions.key("glm.tenants.over-budget")
            .enumType(OverBudget.class).defaultValue(OverBudget.DEFER)
            .withDescription("What a turn does when its tenant's window has no room: DEFER, it is charged to the first"
                    + " later window with room and waits in state until that window starts (the tenant's later turns"
                    + " queue behind it, other tenants go on); REJECT, it is a dead letter (budget_exceeded). A turn"
                    + " larger than the whole budget is a dead letter under both.");

    /** What a turn does when its tenant's token budget has no room for it. */
    public enum OverBudget { DEFER, REJECT }
}
