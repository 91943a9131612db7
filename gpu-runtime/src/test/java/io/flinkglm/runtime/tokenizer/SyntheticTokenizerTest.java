package io.flinkglm.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The small vocabularies written for generated test checkpoints. */
class SyntheticTokenizerTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {270, 320, 1024, 20_000})
    void vocabularyHasExactlyTheRequestedSize(int vocabSize) throws IOException {
        SyntheticTokenizer.write(dir, vocabSize);
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(dir);

        assertThat(tokenizer.vocabSize()).isEqualTo(vocabSize);
        assertThat(tokenizer.specialId("<|endoftext|>")).isEqualTo(vocabSize - 14);
        assertThat(tokenizer.specialId("<|end_of_video|>")).isEqualTo(vocabSize - 1);
        assertThat(tokenizer.stopIds()).containsExactly(vocabSize - 14, vocabSize - 7, vocabSize - 5);
    }

    @ParameterizedTest
    @ValueSource(ints = {320, 1024})
    void anyTextRoundTrips(int vocabSize) throws IOException {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, vocabSize));
        String text = "Hello, world! 你好，今天天气很好。🚀😶‍🌫️ def f(x):\n    return x ** 2\n\t<|user|> 12345";

        assertThat(tokenizer.decode(tokenizer.encode(text))).isEqualTo(text);
        assertThat(tokenizer.decode(tokenizer.encode(randomText(new SplittableRandom(vocabSize)))))
                .isEqualTo(randomText(new SplittableRandom(vocabSize)));
    }

    @Test
    void learnedMergesShortenText() throws IOException {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, 1024));
        String text = "The weather is nice today. 你好，今天天气很好。";

        assertThat(tokenizer.encode(text).length).isLessThan(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length / 2);
    }

    @Test
    void writingIsDeterministic() throws IOException {
        Path first = SyntheticTokenizer.write(dir.resolve("a"), 1024);
        Path second = SyntheticTokenizer.write(dir.resolve("b"), 1024);

        assertThat(Files.readString(first)).isEqualTo(Files.readString(second));
    }

    @Test
    void vocabularyTooSmallForBytesAndSpecialsIsRejected() {
        assertThatThrownBy(() -> SyntheticTokenizer.write(dir, 269))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("269").hasMessageContaining("at least 270");
    }

    /** Code points from every plane in use, including lone combining marks and emoji. */
    private static String randomText(SplittableRandom random) {
        StringBuilder text = new StringBuilder();
        int[][] ranges = {{0x20, 0x7E}, {0x0A, 0x0A}, {0x4E00, 0x9FFF}, {0x0300, 0x036F}, {0x1F300, 0x1FAFF}, {0x0400, 0x04FF}};
        for (int i = 0; i < 2000; i++) {
            int[] r = ranges[random.nextInt(ranges.length)];
            text.appendCodePoint(r[0] + random.nextInt(r[1] - r[0] + 1));
        }
        return text.toString();
    }
}
