package io.flinkglm.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.runtime.testing.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The heap merge for long pieces against the reference rescan loop. */
class BytePairEncoderTest {
    @TempDir
    Path dir;

    @Test
    void heapMergeMatchesRescanOnSyntheticVocabulary() throws IOException {
        BytePairEncoder encoder = TiktokenFile.read(SyntheticTokenizer.write(dir, 1024)).encoder();

        assertSameMerges(encoder, 200);
    }

    @Test
    void heapMergeMatchesRescanOnGlm4Vocabulary() throws IOException {
        BytePairEncoder encoder = TiktokenFile.read(SharedData.glm4().resolve("tokenizer.model")).encoder();

        assertSameMerges(encoder, 100);
    }

    @Test
    void aMegabyteLongPieceEncodesQuickly() throws IOException {
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, 1024));
        String oneWord = "ab".repeat(500_000); // \p{L}+ makes it a single piece

        long start = System.nanoTime();
        int[] ids = tokenizer.encode(oneWord);

        assertThat(tokenizer.decode(ids)).isEqualTo(oneWord);
        assertThat((System.nanoTime() - start) / 1e9).as("seconds for 1 MB in one piece").isLessThan(5);
    }

    private static void assertSameMerges(BytePairEncoder encoder, int samples) {
        SplittableRandom random = new SplittableRandom(7);
        String alphabet = "aabbcceeffhhiilllloorrsstt  你好天气很的是";
        for (int s = 0; s < samples; s++) {
            StringBuilder text = new StringBuilder();
            for (int i = 1 + random.nextInt(600); i > 0; i--) {
                text.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            byte[] piece = text.toString().getBytes(StandardCharsets.UTF_8);

            assertThat(encoder.mergeWithHeap(piece)).as(text.toString()).containsExactly(encoder.mergeByRescan(piece));
        }
    }
}
