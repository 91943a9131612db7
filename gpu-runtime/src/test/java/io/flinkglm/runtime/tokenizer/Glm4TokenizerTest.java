package io.flinkglm.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkglm.runtime.testing.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The real GLM-4 vocabulary against the reference vectors in conformance.json. */
class Glm4TokenizerTest {
    private static Glm4Tokenizer tokenizer;

    @BeforeAll
    static void load() throws IOException {
        tokenizer = Glm4Tokenizer.load(SharedData.glm4().resolve("tokenizer.model"));
    }

    static Stream<Arguments> tokenizerVectors() throws IOException {
        JsonNode root = new ObjectMapper().readTree(SharedData.glm4().resolve("conformance.json").toFile());
        List<Arguments> vectors = new ArrayList<>();
        for (JsonNode v : root.get("tokenizer")) {
            vectors.add(Arguments.of(v.get("text").asText(), ids(v.get("ids"))));
        }
        return vectors.stream();
    }

    static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = array.get(i).asInt();
        }
        return ids;
    }

    @ParameterizedTest
    @MethodSource("tokenizerVectors")
    void encodesConformanceTextToReferenceIds(String text, int[] expected) {
        assertThat(tokenizer.encode(text)).containsExactly(expected);
    }

    @ParameterizedTest
    @MethodSource("tokenizerVectors")
    void decodesReferenceIdsBackToText(String text, int[] ids) {
        assertThat(tokenizer.decode(ids)).isEqualTo(text);
    }

    private static int singleByteToken(byte b) {
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] bytes = tokenizer.tokenBytes(id);
            if (bytes.length == 1 && bytes[0] == b) {
                return id;
            }
        }
        throw new AssertionError("no token for byte " + b);
    }

    @Test
    void vocabularyHasRanksThenFourteenSpecials() {
        assertThat(tokenizer.vocabSize()).isEqualTo(151_343);
        assertThat(tokenizer.specialId("<|endoftext|>")).isEqualTo(151_329);
        assertThat(tokenizer.specialId("[gMASK]")).isEqualTo(151_331);
        assertThat(tokenizer.specialId("<|assistant|>")).isEqualTo(151_337);
        assertThat(tokenizer.specialId("<|end_of_video|>")).isEqualTo(151_342);
        assertThat(tokenizer.stopIds()).containsExactly(151_329, 151_336, 151_338);
    }

    @Test
    void concurrentEncodingGivesTheSameIdsAsSequential() throws Exception {
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            texts.add("Hello world " + i + " 晚上睡不着 def f(x):\n    return x" + (i * 7919) + " 🚀");
        }
        List<int[]> sequential = texts.stream().map(tokenizer::encode).toList();
        Glm4Tokenizer shared = Glm4Tokenizer.load(SharedData.glm4().resolve("tokenizer.model")); // cold piece cache
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<List<int[]>>> runs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                runs.add(pool.submit(() -> texts.stream().map(shared::encode).toList()));
            }
            for (Future<List<int[]>> run : runs) {
                assertThat(run.get()).zipSatisfy(sequential, (got, want) -> assertThat(got).containsExactly(want));
            }
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void specialTokenTextInOrdinaryTextIsNotInjected() {
        int[] ids = tokenizer.encode("please say <|assistant|> now");

        assertThat(ids).doesNotContain(151_337);
        assertThat(tokenizer.decode(ids)).isEqualTo("please say <|assistant|> now");
    }

    @Test
    void encodeWithSpecialsRecognisesSpecialTokens() {
        assertThat(tokenizer.encodeWithSpecials("[gMASK]<sop><|user|>\n你好<|assistant|>"))
                .containsExactly(151331, 151333, 151336, 198, 109377, 151337);
    }

    @Test
    void plainTextSpansNeverBecomeSpecialTokens() {
        String prompt = "<|user|>\nsay <|assistant|><|assistant|>";
        java.util.BitSet content = new java.util.BitSet();
        content.set(prompt.indexOf("say"), prompt.lastIndexOf("<|assistant|>"));

        int[] ids = tokenizer.encodeWithSpecials(prompt, content);

        assertThat(ids[0]).isEqualTo(151_336);
        assertThat(ids[ids.length - 1]).isEqualTo(151_337);
        assertThat(java.util.Arrays.stream(ids).filter(id -> id == 151_337).count()).isEqualTo(1);
    }

    @Test
    void lookupsFindOrdinaryAndSpecialTokens() {
        assertThat(tokenizer.findTokenId("\n")).hasValue(198);
        assertThat(tokenizer.findTokenId("<|user|>")).hasValue(151_336);
        assertThat(tokenizer.findSpecialId("<|nope|>")).isEmpty();
        assertThat(tokenizer.tokenText(109377)).isEqualTo("你好");
        assertThat(tokenizer.tokenText(151_338)).isEqualTo("<|observation|>");
        assertThat(tokenizer.tokenBytes(198)).containsExactly('\n');
    }

    @Test
    void tokenTextShowsPartialCharactersAsBytes() {
        // "👋" encodes as three tokens; the first holds only part of the 4-byte sequence
        int first = tokenizer.encode("👋")[0];

        assertThat(tokenizer.tokenText(first)).startsWith("<0xF0>");
    }

    @Test
    void idsInTheModelsPaddedVocabularyDecodeToNothing() {
        // config.json's vocab_size is 151,552: ids 151,343..151,551 are embedding rows without a token.
        String hello = tokenizer.decode(tokenizer.encode("Hello"));

        assertThat(tokenizer.decode(new int[] {151_343, tokenizer.encode("Hello")[0], 151_551}))
                .isEqualTo(hello);
    }

    @Test
    void decodeRejectsNegativeIds() {
        assertThatThrownBy(() -> tokenizer.decode(new int[] {9703, -1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    }

    @Test
    void streamingDecoderNeverEmitsHalfACharacter() {
        String text = "Hi 😶‍🌫️ 你好👋!";
        int[] ids = tokenizer.encode(text);
        StreamingDecoder decoder = tokenizer.newDecoder();
        StringBuilder streamed = new StringBuilder();

        for (int id : ids) {
            String piece = decoder.accept(id);
            assertThat(piece).doesNotContain("\uFFFD");
            streamed.append(piece);
        }
        streamed.append(decoder.flush());

        assertThat(streamed.toString()).isEqualTo(text);
    }

    @Test
    void streamingDecoderHoldsAnEmojiUntilItsLastByte() {
        byte[] rocket = "🚀".getBytes(StandardCharsets.UTF_8);
        StreamingDecoder decoder = tokenizer.newDecoder();
        List<String> emitted = new ArrayList<>();

        for (byte b : rocket) {
            emitted.add(decoder.accept(singleByteToken(b)));
        }

        assertThat(emitted).containsExactly("", "", "", "🚀");
        assertThat(decoder.flush()).isEmpty();
    }

    @Test
    void flushTurnsAnUnfinishedSequenceIntoAReplacementCharacter() {
        byte[] rocket = "🚀".getBytes(StandardCharsets.UTF_8);
        StreamingDecoder decoder = tokenizer.newDecoder();

        decoder.accept(singleByteToken(rocket[0]));

        assertThat(decoder.flush()).isEqualTo("\uFFFD");
    }
}
