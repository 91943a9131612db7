package io.flinkglm.runtime.tokenizer;

import org.apache.flink.annotation.Internal;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a small {@code tokenizer.model} for the project's generated test checkpoints, whose vocabulary
 * is far smaller than GLM-4's. Ranks 0..255 are the single bytes; further ranks are BPE merges learned
 * deterministically from a built-in English / Chinese / code sample, so encodings look like real ones
 * (multi-byte tokens, split Chinese characters). The 14 GLM-4 specials follow, so
 * {@code ranks + 14 == vocabSize}.
 *
 * <pre>{@code
 * SyntheticTokenizer.write(checkpointDir, 1024);
 * Glm4Tokenizer tok = Glm4Tokenizer.load(checkpointDir);   // tok.vocabSize() == 1024
 * }</pre>
 */
@Internal
public final class SyntheticTokenizer {
    /** The merges are learned from this text; changing it changes every synthetic checkpoint's ids. */
    private static final String TRAINING_TEXT = """
            The quick brown fox jumps over the lazy dog. I've been told the weather is nice today, \
            and we'll go outside if it doesn't rain. The model reads the prompt and writes the answer.
            你好！今天天气很好，我们去公园散步吧。你是一个人工智能助手，请回答用户的问题。\
            晚上睡不着应该怎么办？北京的天气是晴天，气温二十五度。
            def main():
                for i in range(10):
                    print("hello world", i)  # say hello
            int sum = 0; for (int i = 0; i < n; i++) { sum += a[i]; } return sum;
            {"name": "get_weather", "arguments": {"location": "Beijing"}}
            """;
    private static final int SINGLE_BYTES = 256;

    private SyntheticTokenizer() {}

    /**
     * Writes {@code dir/tokenizer.model} for a vocabulary of exactly {@code vocabSize} ids.
     *
     * @return the written file
     * @throws IllegalArgumentException if {@code vocabSize} is below 256 bytes + 14 specials
     */
    public static Path write(Path dir, int vocabSize) throws IOException {
        int minimum = SINGLE_BYTES + Vocabulary.GLM4_SPECIALS.length;
        if (vocabSize < minimum) {
            throw new IllegalArgumentException("synthetic vocabulary of " + vocabSize + " is too small: it needs "
                    + SINGLE_BYTES + " single-byte tokens + " + Vocabulary.GLM4_SPECIALS.length
                    + " special tokens = at least " + minimum);
        }
        List<byte[]> ranks = learnRanks(vocabSize - Vocabulary.GLM4_SPECIALS.length);
        Files.createDirectories(dir);
        Path file = dir.resolve("tokenizer.model");
        Base64.Encoder base64 = Base64.getEncoder();
        try (Writer out = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int rank = 0; rank < ranks.size(); rank++) {
                out.write(base64.encodeToString(ranks.get(rank)) + " " + rank + "\n");
            }
        }
        return file;
    }

    /**
     * Classic BPE training: repeatedly merge the most frequent adjacent pair within pre-split pieces
     * (the first seen wins ties, so the result is deterministic). When the sample has nothing left to
     * merge, pairs and triples of printable ASCII fill the remaining ranks; any vocabulary holding all
     * 256 bytes still round-trips every text.
     */
    static List<byte[]> learnRanks(int rankCount) {
        List<byte[]> ranks = new ArrayList<>(rankCount);
        ByteSequenceIndex index = new ByteSequenceIndex(rankCount);
        for (int b = 0; b < SINGLE_BYTES && ranks.size() < rankCount; b++) {
            addRank(ranks, index, new byte[] {(byte) b});
        }
        List<int[]> words = new ArrayList<>();
        PreTokenizer.split(TRAINING_TEXT, 0, TRAINING_TEXT.length(), (start, end) -> {
            byte[] bytes = TRAINING_TEXT.substring(start, end).getBytes(StandardCharsets.UTF_8);
            int[] word = new int[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                word[i] = bytes[i] & 0xFF;
            }
            words.add(word);
        });
        while (ranks.size() < rankCount) {
            long pair = mostFrequentPair(words);
            if (pair < 0) {
                break;
            }
            int left = (int) (pair >>> 32);
            int right = (int) pair;
            byte[] merged = concat(ranks.get(left), ranks.get(right));
            int id = index.get(merged);
            if (id < 0) {
                id = addRank(ranks, index, merged);
            }
            for (int w = 0; w < words.size(); w++) {
                words.set(w, mergeAll(words.get(w), left, right, id));
            }
        }
        fillWithAsciiStrings(ranks, index, rankCount);
        return ranks;
    }

    private static long mostFrequentPair(List<int[]> words) {
        Map<Long, Integer> counts = new LinkedHashMap<>();
        for (int[] word : words) {
            for (int i = 0; i + 1 < word.length; i++) {
                counts.merge(((long) word[i] << 32) | word[i + 1], 1, Integer::sum);
            }
        }
        long best = -1;
        int bestCount = 0;
        for (Map.Entry<Long, Integer> e : counts.entrySet()) {
            if (e.getValue() > bestCount) {
                best = e.getKey();
                bestCount = e.getValue();
            }
        }
        return best;
    }

    private static int[] mergeAll(int[] word, int left, int right, int merged) {
        int[] out = new int[word.length];
        int n = 0;
        for (int i = 0; i < word.length; i++) {
            if (i + 1 < word.length && word[i] == left && word[i + 1] == right) {
                out[n++] = merged;
                i++;
            } else {
                out[n++] = word[i];
            }
        }
        return Arrays.copyOf(out, n);
    }

    private static void fillWithAsciiStrings(List<byte[]> ranks, ByteSequenceIndex index, int rankCount) {
        for (int length = 2; ranks.size() < rankCount; length++) {
            byte[] s = new byte[length];
            Arrays.fill(s, (byte) ' ');
            do {
                if (index.get(s) < 0) {
                    addRank(ranks, index, s.clone());
                }
            } while (ranks.size() < rankCount && nextPrintable(s));
        }
    }

    /** Advances {@code s} like an odometer over ' '..'~'; false after the last combination. */
    private static boolean nextPrintable(byte[] s) {
        for (int i = s.length - 1; i >= 0; i--) {
            if (s[i] < '~') {
                s[i]++;
                return true;
            }
            s[i] = ' ';
        }
        return false;
    }

    private static int addRank(List<byte[]> ranks, ByteSequenceIndex index, byte[] bytes) {
        index.putIfAbsent(bytes, ranks.size());
        ranks.add(bytes);
        return ranks.size() - 1;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
