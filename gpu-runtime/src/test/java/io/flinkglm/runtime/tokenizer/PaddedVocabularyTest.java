package io.flinkglm.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model's vocab_size may exceed its tokenizer's (GLM-4: 151,552 rows, 151,343 tokens). An id in
 * between is a token the model can sample: it decodes to nothing, as in transformers.
 */
class PaddedVocabularyTest {
    /** The tokenizer's size; the model in this story has 1,024 embedding rows. */
    private static final int TOKENIZER_SIZE = 1000;

    @TempDir
    Path dir;
    Glm4Tokenizer tokenizer;

    @BeforeEach
    void writeVocabulary() throws IOException {
        tokenizer = Glm4Tokenizer.load(SyntheticTokenizer.write(dir, TOKENIZER_SIZE));
    }

    @Test
    void decodeSkipsIdsPastTheTokenizer() {
        int[] text = tokenizer.encode("Hi 你好");
        int[] withPadding = new int[2 * text.length + 1];
        withPadding[0] = TOKENIZER_SIZE;
        for (int i = 0; i < text.length; i++) {
            withPadding[2 * i + 1] = text[i];
            withPadding[2 * i + 2] = i % 2 == 0 ? 1023 : Integer.MAX_VALUE;
        }

        assertThat(tokenizer.decode(withPadding)).isEqualTo("Hi 你好");
    }

    @Test
    void streamingDecoderSkipsIdsPastTheTokenizer() {
        StreamingDecoder decoder = tokenizer.newDecoder();
        StringBuilder text = new StringBuilder();

        for (int id : tokenizer.encode("ok 你")) {
            text.append(decoder.accept(id));
            text.append(decoder.accept(TOKENIZER_SIZE + 7));
        }
        text.append(decoder.flush());

        assertThat(text.toString()).isEqualTo("ok 你");
    }

    @Test
    void paddingIdsHaveNoBytesAndNoText() {
        assertThat(tokenizer.tokenBytes(TOKENIZER_SIZE)).isEmpty();
        assertThat(tokenizer.tokenText(TOKENIZER_SIZE)).isEmpty();
    }

    @Test
    void negativeIdsAreStillAProgrammingError() {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {-3}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-3");
        assertThatThrownBy(() -> tokenizer.newDecoder().accept(-3))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
