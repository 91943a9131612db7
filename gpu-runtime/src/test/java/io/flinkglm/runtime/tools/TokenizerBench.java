package io.flinkglm.runtime.tools;

import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Single-thread encode throughput on a generated mixed Chinese / English / code corpus; prints
 * {@code {"encode_mb_per_s": ..., "tokens_per_s": ...}}. A benchmark, not a test.
 *
 * <pre>{@code
 * java -cp gpu-runtime/target/classes:gpu-runtime/target/test-classes:$JACKSON io.flinkglm.runtime.tools.TokenizerBench \
 *     ../shared/glm4/tokenizer.model [corpusMegabytes] [seconds]
 * }</pre>
 */
public final class TokenizerBench {
    private static final String[] ENGLISH = {
        "The stream processor keeps keyed state in RocksDB and checkpoints it every ten seconds.",
        "I've been told he's there, but you'll want to check the logs before you restart it.",
        "Latency went from 120 ms to 45 ms after batching 32 requests per step.",
    };
    private static final String[] CHINESE = {
        "晚上睡不着应该怎么办？可以试试睡前不看手机，保持规律的作息。",
        "你是一个名为 ChatGLM 的人工智能助手，你的任务是针对用户的问题提供适当的答复。",
        "今天北京的天气是晴天，气温25摄氏度，适合户外活动。",
    };
    private static final String[] CODE = {
        "for (int i = 0; i < n; i++) {\n    sum += a[i] * b[i];\n}\n",
        "def main():\n    print('hello world')  # say hello\n\nif __name__ == '__main__':\n    main()\n",
        "{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Beijing\", \"days\": 3}}\n",
    };

    private TokenizerBench() {}

    public static void main(String[] args) throws Exception {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(Path.of(args.length > 0 ? args[0] : "../shared/glm4/tokenizer.model"));
        int megabytes = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        double seconds = args.length > 2 ? Double.parseDouble(args[2]) : 5;
        String corpus = corpus(megabytes << 20);
        long bytes = corpus.getBytes(StandardCharsets.UTF_8).length;

        long deadline = System.nanoTime() + 2_000_000_000L; // warm-up: JIT and the piece cache
        while (System.nanoTime() < deadline) {
            tokenizer.encode(corpus);
        }
        long tokens = 0;
        int runs = 0;
        long start = System.nanoTime();
        do {
            tokens += tokenizer.encode(corpus).length;
            runs++;
        } while (System.nanoTime() - start < seconds * 1e9);
        double elapsed = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "{\"encode_mb_per_s\": %.2f, \"tokens_per_s\": %.0f, \"corpus_bytes\": %d, \"runs\": %d}%n",
                bytes * runs / 1e6 / elapsed, tokens / elapsed, bytes, runs);
    }

    /** Paragraphs drawn from the three kinds with random numbers and words, so pieces repeat as in real text but not only. */
    static String corpus(int targetChars) {
        SplittableRandom random = new SplittableRandom(42);
        StringBuilder text = new StringBuilder(targetChars + 256);
        while (text.length() < targetChars) {
            String[] kind = switch (random.nextInt(3)) {
                case 0 -> ENGLISH;
                case 1 -> CHINESE;
                default -> CODE;
            };
            text.append(kind[random.nextInt(kind.length)]);
            text.append(random.nextInt(100_000)).append(' ');
            for (int i = random.nextInt(4); i > 0; i--) {
                text.append((char) ('a' + random.nextInt(26))).append((char) (0x4E00 + random.nextInt(0x5000)));
            }
            text.append(random.nextInt(5) == 0 ? "\n\n" : " ");
        }
        return text.toString();
    }
}
