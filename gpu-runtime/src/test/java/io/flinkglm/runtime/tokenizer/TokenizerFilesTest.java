package io.flinkglm.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading both file forms, and the errors a malformed file gives. */
class TokenizerFilesTest {
    @TempDir
    Path dir;

    @Test
    void brokenLineNamesFileAndLine() throws IOException {
        Path file = model(allBytes() + "aGk=\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("tokenizer.model line 257")
                .hasMessageContaining("expected 'base64(bytes) rank'");
    }

    @Test
    void badBase64IsReported() throws IOException {
        Path file = model(allBytes() + "!!not-base64!! 256\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("line 257").hasMessageContaining("bad base64");
    }

    @Test
    void nonNumericRankIsReported() throws IOException {
        Path file = model(allBytes() + "aGk= two\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("line 257").hasMessageContaining("rank 'two'");
    }

    @Test
    void duplicateRankIsReported() throws IOException {
        Path file = model(allBytes() + "aGk= 255\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("line 257").hasMessageContaining("rank 255 already used by line 256");
    }

    @Test
    void duplicateTokenBytesAreReported() throws IOException {
        Path file = model(allBytes() + b64("A") + " 256\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class)
                .hasMessageContaining("line 257").hasMessageContaining("repeat those of rank 65");
    }

    @Test
    void missingRankIsReported() throws IOException {
        Path file = model(allBytes() + b64("hi") + " 300\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class).hasMessageContaining("rank 256 is missing");
    }

    @Test
    void vocabularyWithoutEverySingleByteIsRejected() throws IOException {
        Path file = model(b64("a") + " 0\n");

        assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                .isInstanceOf(TokenizerFormatException.class).hasMessageContaining("single byte 0x00");
    }

    @Test
    void tiktokenRanksMergeLowestFirst() throws IOException {
        Path file = model(allBytes() + b64("ll") + " 256\n" + b64("he") + " 257\n" + b64("hell") + " 258\n");
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(file);

        assertThat(tokenizer.encode("hello")).containsExactly(258, 'o');
        assertThat(tokenizer.specialId("<|endoftext|>")).isEqualTo(259);
        assertThat(tokenizer.vocabSize()).isEqualTo(259 + 14);
    }

    @Test
    void huggingFaceByteLevelBpeFollowsMergeOrder() throws IOException {
        // " h" is spelled "Ġh" in GPT-2's byte alphabet; "h e" outranks it, so " hello" keeps its space apart
        Glm4Tokenizer tokenizer = Glm4Tokenizer.load(tokenizerJson("BPE", "h e", "l l", "he ll", "Ġ h"));

        assertThat(tokenizer.encode("hello")).containsExactly(258, 'o');
        assertThat(tokenizer.encode(" hello")).containsExactly(' ', 258, 'o');
        assertThat(tokenizer.encode(" h")).containsExactly(259);
        assertThat(tokenizer.encodeWithSpecials("<|user|>hello")).startsWith(300);
        assertThat(tokenizer.decode(tokenizer.encode(" hello 你好"))).isEqualTo(" hello 你好");
    }

    @Test
    void directoryPrefersTokenizerJson() throws IOException {
        model(allBytes());
        tokenizerJson("BPE", "h e");

        assertThat(Glm4Tokenizer.load(dir).specialId("<|user|>")).isEqualTo(300);
    }

    @Test
    void wordPieceAndUnigramTokenizersAreRejected() throws IOException {
        for (String type : new String[] {"WordPiece", "Unigram"}) {
            Path file = tokenizerJson(type);

            assertThatThrownBy(() -> Glm4Tokenizer.load(file))
                    .isInstanceOf(TokenizerFormatException.class)
                    .hasMessageContaining("tokenizer.json").hasMessageContaining("model type '" + type + "'");
        }
    }

    @Test
    void directoryWithoutTokenizerIsReported() {
        assertThatThrownBy(() -> Glm4Tokenizer.load(dir))
                .isInstanceOf(IOException.class).hasMessageContaining("neither tokenizer.json nor tokenizer.model");
    }

    private Path model(String content) throws IOException {
        return Files.writeString(dir.resolve("tokenizer.model"), content);
    }

    private static String allBytes() {
        StringBuilder lines = new StringBuilder();
        for (int b = 0; b < 256; b++) {
            lines.append(Base64.getEncoder().encodeToString(new byte[] {(byte) b})).append(' ').append(b).append('\n');
        }
        return lines.toString();
    }

    private static String b64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A tokenizer.json with the 256 byte tokens (ids = byte values), one merged token per merge, and {@code <|user|>} at 300. */
    private Path tokenizerJson(String type, String... merges) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        ObjectNode model = root.putObject("model").put("type", type);
        ObjectNode vocab = model.putObject("vocab");
        int next = 256;
        for (int b = 0; b < 256; b++) {
            vocab.put(byteChar(b), b);
        }
        ArrayNode mergeList = model.putArray("merges");
        for (String merge : merges) {
            mergeList.add(merge);
            vocab.put(merge.replace(" ", ""), next++);
        }
        for (int id = next; id < 300; id++) {
            vocab.put("pad" + id, id);
        }
        root.putArray("added_tokens").addObject().put("id", 300).put("content", "<|user|>").put("special", true);
        Path file = dir.resolve("tokenizer.json");
        json.writeValue(file.toFile(), root);
        return file;
    }

    /** GPT-2's bytes_to_unicode, the alphabet tokenizer.json spells byte-level tokens in. */
    private static String byteChar(int b) {
        boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            return String.valueOf((char) b);
        }
        int n = 0;
        for (int x = 0; x < b; x++) {
            boolean p = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            n += p ? 0 : 1;
        }
        return String.valueOf((char) (256 + n));
    }
}
