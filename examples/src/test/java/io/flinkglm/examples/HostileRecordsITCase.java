package io.flinkglm.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.records.Completion;
import io.flinkglm.records.DeadLetter;
import io.flinkglm.records.FunctionCall;
import io.flinkglm.records.SafetyVerdict;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * No record can stop the job: hostile records, generated from a seed, mixed with valid prompts and sent
 * through {@link ChatWithToolsJob}'s own sources on a real broker. The job runs with restarts disabled,
 * so a single record that fails a task fails the test; every record must come out exactly once (answered,
 * or dead-lettered with its original offset) and the valid prompts' answers must equal a clean run's.
 */
class HostileRecordsITCase {
    private static final int HOSTILE = 500;
    private static final int VALID = 40;
    private static final long SEED = 20261206L;
    private static final int MAX_RECORD_BYTES = 16 * 1024;

    @RegisterExtension
    static final KafkaJobs KAFKA = new KafkaJobs();

    @Test
    void everyHostileRecordIsAnsweredOrDeadLetteredOnceWithoutARestart() throws Exception {
        Random random = new Random(SEED);
        List<byte[]> records = new ArrayList<>();
        List<String> validIds = new ArrayList<>();
        for (int i = 0; i < HOSTILE + VALID; i++) {
            if (i % ((HOSTILE + VALID) / VALID) == 0 && validIds.size() < VALID) {
                validIds.add("v-" + i);
                records.add(valid("v-" + i).getBytes(UTF_8));
            } else {
                records.add(hostile(random, i));
            }
        }

        Configuration mixed = config("hostile");
        Map<String, Long> offsetOfRequest = new HashMap<>();
        Map<Long, byte[]> sent = produce(mixed, records, offsetOfRequest);
        run(mixed);

        List<Completion> completions = KAFKA.readCommitted(mixed, KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class);
        List<FunctionCall> calls = KAFKA.readCommitted(mixed, KafkaConnectorOptions.FUNCTION_CALLS_TOPIC, FunctionCall.class);
        List<SafetyVerdict> verdicts = KAFKA.readCommitted(mixed, KafkaConnectorOptions.SAFETY_VERDICTS_TOPIC, SafetyVerdict.class);
        List<DeadLetter> letters = KAFKA.readCommitted(mixed, KafkaConnectorOptions.DEAD_LETTERS_TOPIC, DeadLetter.class);

        // Each input, by its offset, comes out exactly once.
        Map<Long, Integer> outputsPerOffset = new TreeMap<>();
        Function<String, Long> offsetOf = id -> {
            Long offset = offsetOfRequest.get(id);
            assertThat(offset).as("an answer to request %s, which was never sent", id).isNotNull();
            return offset;
        };
        completions.forEach(c -> outputsPerOffset.merge(offsetOf.apply(c.requestId()), 1, Integer::sum));
        calls.forEach(c -> outputsPerOffset.merge(offsetOf.apply(c.requestId()), 1, Integer::sum));
        verdicts.forEach(v -> outputsPerOffset.merge(offsetOf.apply(v.requestId()), 1, Integer::sum));
        for (DeadLetter d : letters) {
            assertThat(d.topic()).isEqualTo(mixed.get(KafkaConnectorOptions.PROMPTS_TOPIC));
            byte[] original = sent.get(d.offset());
            assertThat(original).as("dead letter at offset %d", d.offset()).isNotNull();
            if (d.original() != null && original.length <= MAX_RECORD_BYTES) {
                assertThat(d.original()).as("the original bytes of offset %d", d.offset()).isEqualTo(original);
            }
            outputsPerOffset.merge(d.offset(), 1, Integer::sum);
        }
        assertThat(outputsPerOffset.keySet()).as("every record is answered or dead-lettered").isEqualTo(sent.keySet());
        assertThat(outputsPerOffset.values()).as("no record is answered twice").containsOnly(1);
        long lost = sent.size() - outputsPerOffset.size();
        System.err.printf("hostile records: tried %d, answered %d, dead-lettered %d, lost %d, restarts 0%n",
                sent.size(), completions.size() + calls.size() + verdicts.size(), letters.size(), lost);

        // The valid prompts' answers are what a run of the valid prompts alone gives.
        Configuration clean = config("clean");
        List<byte[]> validOnly = validIds.stream().map(id -> valid(id).getBytes(UTF_8)).toList();
        produce(clean, validOnly, new HashMap<>());
        run(clean);
        Map<String, String> cleanAnswers = texts(KAFKA.readCommitted(clean, KafkaConnectorOptions.COMPLETIONS_TOPIC, Completion.class));
        Map<String, String> mixedAnswers = texts(completions);
        mixedAnswers.keySet().retainAll(validIds);
        assertThat(mixedAnswers).hasSize(VALID).isEqualTo(cleanAnswers);
    }

    private static Configuration config(String prefix) throws Exception {
        Configuration config = KAFKA.jobConfig(prefix);
        config.set(KafkaConnectorOptions.MAX_RECORD_SIZE, MemorySize.parse(MAX_RECORD_BYTES + "b"));
        return config;
    }

    /** Runs the job to the end of its bounded input with restarts off: one failed task fails the job. */
    private static void run(Configuration config) throws Exception {
        Configuration noRestarts = new Configuration();
        noRestarts.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        GlmKafkaPipeline pipeline = GlmKafkaPipeline.create(StreamExecutionEnvironment.getExecutionEnvironment(noRestarts), config);
        ChatWithToolsJob.define(pipeline);
        pipeline.execute("hostile records");
    }

    private static Map<Long, byte[]> produce(Configuration config, List<byte[]> values, Map<String, Long> offsetOfRequest)
            throws Exception {
        String topic = config.get(KafkaConnectorOptions.PROMPTS_TOPIC);
        // One partition, so an offset names a record; request ids are unique, so they name it too.
        List<ProducerRecord<byte[], byte[]>> records =
                values.stream().map(value -> new ProducerRecord<byte[], byte[]>(topic, 0, null, value)).toList();
        List<RecordMetadata> written = KAFKA.produce(records);
        Map<Long, byte[]> sent = new TreeMap<>();
        for (int i = 0; i < values.size(); i++) {
            sent.put(written.get(i).offset(), values.get(i));
            String id = requestIdIn(values.get(i));
            if (id != null) {
                offsetOfRequest.put(id, written.get(i).offset());
            }
        }
        return sent;
    }

    private static String valid(String id) {
        return "{\"request_id\":\"" + id + "\",\"conversation_id\":\"c-" + id + "\",\"task\":\"chat\","
                + "\"text\":\"question " + id + ": what is a keyed stream?\"}";
    }

    /** One hostile record of a kind picked by {@code random}; its request id, where it has one, is h-i. */
    private static byte[] hostile(Random random, int i) {
        String id = "h-" + i;
        String head = "\"request_id\":\"" + id + "\",\"conversation_id\":\"c-" + id + "\"";
        String chat = "{" + head + ",\"task\":\"chat\",\"text\":\"hi\"";
        return switch (random.nextInt(16)) {
            case 0 -> bytes(dropField(random, id));
            case 1 -> bytes("{" + head + ",\"task\":\"chat\",\"text\":" + pick(random, "5", "true", "[1]", "{\"a\":1}") + "}");
            case 2 -> bytes(chat + ",\"sampling\":{" + pick(random, "\"max_tokens\":0", "\"max_tokens\":-5",
                    "\"max_tokens\":2147483647", "\"max_tokens\":3.7", "\"max_tokens\":\"8\"", "\"temperature\":-1",
                    "\"top_p\":5", "\"top_p\":0", "\"top_k\":-5", "\"seed\":\"x\"", "\"temperature\":1e999") + "}}");
            case 3 -> invalidUtf8(chat + "}");
            case 4 -> bytes(chat.replace("\"hi\"", "\"" + "x".repeat(MAX_RECORD_BYTES + 100) + "\"") + "}");
            case 5 -> bytes(chat + ",\"deep\":" + "[".repeat(3000) + "]".repeat(3000) + "}");
            case 6 -> bytes(chat + "} " + pick(random, "xyz", "{}", "]", "\"tail\""));
            case 7 -> bytes(chat + ",\"tools\":" + quote(KafkaJobs.WEATHER_TOOLS)
                    + ",\"tool_choice\":\"get_stock_price\"}");
            case 8 -> bytes(chat + ",\"tools\":" + quote(pick(random, "not json", "{\"type\":\"function\"}",
                    "[{\"type\":\"spaceship\"}]", "[1,2]")) + "}");
            case 9 -> bytes("{" + head + ",\"task\":\"chat\",\"messages\":" + pick(random, "[]",
                    "[{\"role\":\"wizard\",\"content\":\"hi\"}]", "[{\"content\":\"hi\"}]", "\"hi\"",
                    "[{\"role\":\"user\",\"content\":7}]") + "}");
            case 10 -> bytes(pick(random, "", "null", "[]", "42", "\"prompt\"", "{", "{}"));
            case 11 -> bytes("{" + head + ",\"task\":" + pick(random, "\"translate\"", "7", "null") + ",\"text\":\"hi\"}");
            case 12 -> bytes("{" + head + ",\"task\":\"complete\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
            case 13 -> bytes(chat + ",\"tool_choice\":" + quote(pick(random, "{\"type\":\"function\"}", "required",
                    "{broken", "get_weather")) + "}");
            case 14 -> bytes(chat.replace("\"hi\"", "\"" + "word ".repeat(1500) + "\"") + "}"); // past the context
            default -> bytes("{" + head + ",\"task\":\"moderate\",\"text\":\"is this fine?\"}");
        };
    }

    private static String dropField(Random random, String id) {
        List<String> fields = new ArrayList<>(List.of("\"request_id\":\"" + id + "\"", "\"conversation_id\":\"c-" + id + "\"",
                "\"task\":\"chat\"", "\"text\":\"hi\""));
        fields.remove(random.nextInt(fields.size()));
        return "{" + String.join(",", fields) + "}";
    }

    private static byte[] invalidUtf8(String json) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] b = json.getBytes(UTF_8);
        int at = json.indexOf("\"hi\"") + 1;
        out.write(b, 0, at);
        out.write(0xC3);
        out.write(0x28); // a two-byte lead followed by an ASCII byte: not UTF-8
        out.write(b, at, b.length - at);
        return out.toByteArray();
    }

    private static String requestIdIn(byte[] value) {
        String text = new String(value, UTF_8);
        int at = text.indexOf("\"request_id\":\"");
        if (at < 0) {
            return null;
        }
        int from = at + "\"request_id\":\"".length();
        return text.substring(from, text.indexOf('"', from));
    }

    private static Map<String, String> texts(List<Completion> completions) {
        Map<String, String> texts = new TreeMap<>();
        completions.forEach(c -> texts.put(c.requestId(), c.text()));
        return texts;
    }

    private static String pick(Random random, String... options) {
        return options[random.nextInt(options.length)];
    }

    private static String quote(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static byte[] bytes(String s) {
        return s.getBytes(UTF_8);
    }
}
