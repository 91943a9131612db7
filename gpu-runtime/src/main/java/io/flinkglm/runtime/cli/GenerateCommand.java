package io.flinkglm.runtime.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkglm.runtime.backend.Backend;
import io.flinkglm.runtime.backend.Backends;
import io.flinkglm.runtime.chat.AssistantReply;
import io.flinkglm.runtime.chat.ChatMessage;
import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.Conversation;
import io.flinkglm.runtime.constraint.Constraint;
import io.flinkglm.runtime.engine.GenerationRequest;
import io.flinkglm.runtime.engine.GenerationResult;
import io.flinkglm.runtime.engine.InferenceEngine;
import io.flinkglm.runtime.engine.SamplingParams;
import io.flinkglm.runtime.model.GenerationDefaults;
import io.flinkglm.runtime.model.Glm4Model;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code generate}: one request through the inference engine, from token ids, one user message, or
 * a JSON conversation (with tools). Sampling defaults come from generation_config.json when the
 * checkpoint has one, else greedy.
 */
final class GenerateCommand implements Command {
    private static final int BLOCK = 16;

    @Override
    public String usage() {
        return "generate --model DIR (--tokens IDS | --prompt TEXT | --messages FILE) [--max-tokens N]"
                + " [--temperature T] [--top-p P] [--top-k K] [--repetition-penalty R] [--seed S] [--backend cpu]"
                + " [--json-schema FILE | --regex RE | --choice A,B,C]";
    }

    @Override
    public Object run(Args args) throws Exception {
        Path dir = args.path("model");
        int inputs = (args.has("tokens") ? 1 : 0) + (args.has("prompt") ? 1 : 0) + (args.has("messages") ? 1 : 0);
        if (inputs != 1) {
            throw new Args.UsageException("give exactly one of --tokens, --prompt and --messages");
        }
        int[] tokenIds = args.has("tokens") ? args.integers("tokens") : null;
        String promptText = args.string("prompt", null);
        String messagesFile = args.string("messages", null);
        Integer maxTokens = args.has("max-tokens") ? args.integer("max-tokens", 0) : null;
        Double temperature = args.decimal("temperature");
        Double topP = args.decimal("top-p");
        Integer topK = args.has("top-k") ? args.integer("top-k", 0) : null;
        Double repetitionPenalty = args.decimal("repetition-penalty");
        long seed = args.longValue("seed", 0);
        String backendName = args.string("backend", "cpu");
        String schemaFile = args.string("json-schema", null);
        String regex = args.string("regex", null);
        String choice = args.string("choice", null);
        args.rejectUnused();
        Constraint constraint = constraint(schemaFile, regex, choice);

        Glm4Model model = Glm4Model.load(dir, new StderrProgress("loading"));
        Glm4Tokenizer tokenizer = hasTokenizer(dir) ? Glm4Tokenizer.load(dir) : null;
        if (constraint != null && tokenizer == null) {
            throw new Args.UsageException(dir + " has no tokenizer, which --json-schema, --regex and --choice need");
        }
        int[] prompt;
        if (tokenIds != null) {
            prompt = tokenIds;
        } else {
            if (tokenizer == null) {
                throw new IllegalArgumentException(dir + " has no tokenizer.model or tokenizer.json; use --tokens");
            }
            List<ChatMessage> messages = promptText != null ? List.of(ChatMessage.user(promptText))
                    : Conversation.fromJson(readFile(Path.of(messagesFile))).messages();
            prompt = ChatTemplate.encode(tokenizer, messages, true);
        }
        LogitsCommand.checkTokens(prompt, model);

        GenerationDefaults d = model.generation();
        SamplingParams sampling;
        try {
            sampling = SamplingParams.builder()
                    .temperature(temperature != null ? temperature : d.temperature() != null ? d.temperature() : 0.0)
                    .topP(topP != null ? topP : d.topP() != null ? d.topP() : 1.0)
                    .topK(topK != null ? topK : d.topK() != null ? d.topK() : 0)
                    .repetitionPenalty(repetitionPenalty != null ? repetitionPenalty
                            : d.repetitionPenalty() != null ? d.repetitionPenalty() : 1.0)
                    .maxTokens(maxTokens != null ? maxTokens : d.maxNewTokens() != null ? d.maxNewTokens() : 256)
                    .seed(seed)
                    .stopTokenIds(constraint == null ? stopIds(model, tokenizer) : answerStopIds(model, tokenizer))
                    .build();
        } catch (IllegalArgumentException e) {
            // A sampling value out of range came from an option (or generation_config.json): a usage mistake.
            throw new Args.UsageException(e.getMessage());
        }
        int blocks = kvBlocks(prompt.length, sampling.maxTokens(), model.config().maxPositions());
        try (Backend backend = Backends.create(backendName, model);
             InferenceEngine engine = InferenceEngine.builder(backend)
                     .kvBlocks(blocks).blockSize(BLOCK).tokenizer(tokenizer).build()) {
            GenerationResult r = engine.submit(GenerationRequest.builder("cli", prompt).sampling(sampling)
                            .constraint(constraint).build())
                    .result().get();
            return describe(r, tokenizer, prompt.length);
        }
    }

    /**
     * KV blocks for one request: its prompt plus at most {@code maxTokens} outputs, never more than
     * the model's context, since the engine stops a request there. Counted in longs, so
     * {@code --max-tokens 2147483647} sizes by the context instead of overflowing.
     */
    static int kvBlocks(int promptTokens, int maxTokens, int maxPositions) {
        long positions = Math.min((long) promptTokens + maxTokens, maxPositions) + 1;
        return Math.toIntExact((positions + BLOCK - 1) / BLOCK + 1);
    }

    private static ObjectNode describe(GenerationResult r, Glm4Tokenizer tokenizer, int promptTokens) {
        ObjectNode out = Json.object();
        var ids = out.putArray("token_ids");
        for (int id : r.outputTokens()) {
            ids.add(id);
        }
        String finish = switch (r.finishReason()) {
            case STOP -> "stop";
            case LENGTH -> "length";
            default -> throw new IllegalStateException("generation ended with " + r.finishReason()
                    + (r.message() != null ? ": " + r.message() : ""));
        };
        if (tokenizer != null) {
            String text = tokenizer.decode(r.outputTokens());
            boolean call = r.stopTokenId() >= 0 && r.stopTokenId() == tokenizer.specialId("<|observation|>");
            AssistantReply reply = AssistantReply.parse(text, call);
            out.put("text", reply instanceof AssistantReply.Text t ? t.text() : text);
            if (reply instanceof AssistantReply.FunctionCall fc) {
                finish = "function_call";
                ObjectNode f = out.putObject("function_call");
                f.put("name", fc.name());
                if (fc.arguments() != null) {
                    f.set("arguments", fc.arguments());
                } else {
                    f.put("arguments", fc.rawArguments());
                    f.put("arguments_valid", false);
                }
            }
        }
        out.put("finish_reason", finish);
        out.put("prompt_tokens", promptTokens);
        out.put("completion_tokens", r.outputTokens().length);
        GenerationResult.Timings t = r.timings();
        ObjectNode timings = out.putObject("timings");
        timings.put("ttft_ms", TimeUnit.NANOSECONDS.toMillis(t.firstTokenNanos()));
        timings.put("total_ms", TimeUnit.NANOSECONDS.toMillis(t.totalNanos()));
        double decodeSeconds = (t.totalNanos() - t.firstTokenNanos()) / 1e9;
        if (r.outputTokens().length > 1 && decodeSeconds > 0) {
            timings.put("decode_tokens_per_s", (r.outputTokens().length - 1) / decodeSeconds);
        }
        return out;
    }

    /**
     * The output constraint the options ask for, or null. A bad schema, regex or a second constraint
     * option is a usage mistake (exit 2) naming what is wrong.
     */
    private static Constraint constraint(String schemaFile, String regex, String choice) throws java.io.IOException {
        int given = (schemaFile != null ? 1 : 0) + (regex != null ? 1 : 0) + (choice != null ? 1 : 0);
        if (given > 1) {
            throw new Args.UsageException("give at most one of --json-schema, --regex and --choice");
        }
        try {
            if (schemaFile != null) {
                return Constraint.jsonSchema(readFile(Path.of(schemaFile)));
            }
            if (regex != null) {
                return Constraint.regex(regex);
            }
            return choice == null ? null : Constraint.choice(List.of(choice.split(",", -1)));
        } catch (IllegalArgumentException e) {
            throw new Args.UsageException(e.getMessage());
        }
    }

    /**
     * The stop ids without {@code <|observation|>}: a constrained output is the answer itself, and
     * ending it on the tool-call token would make it read as a function call.
     */
    private static List<Integer> answerStopIds(Glm4Model model, Glm4Tokenizer tokenizer) {
        int observation = tokenizer.findSpecialId("<|observation|>").orElse(-1);
        return stopIds(model, tokenizer).stream().filter(id -> id != observation).toList();
    }

    /** GLM-4's stop tokens (from the tokenizer) plus the eos ids of config.json and generation_config.json. */
    private static List<Integer> stopIds(Glm4Model model, Glm4Tokenizer tokenizer) {
        Set<Integer> ids = new LinkedHashSet<>(model.config().eosTokenIds());
        ids.addAll(model.generation().eosTokenIds());
        if (tokenizer != null) {
            for (int id : tokenizer.stopIds()) {
                ids.add(id);
            }
        }
        return new ArrayList<>(ids);
    }

    private static boolean hasTokenizer(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer.model")) || Files.isRegularFile(dir.resolve("tokenizer.json"));
    }

    private static String readFile(Path file) throws java.io.IOException {
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("messages file " + file + " does not exist");
        }
        return Files.readString(file);
    }
}
