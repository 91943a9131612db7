package io.flinkglm.runtime.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a Hugging Face {@code tokenizer.json} holding a byte-level BPE (the form of glm-4-9b-chat-hf):
 * {@code model.vocab} spelled with GPT-2's byte-to-unicode alphabet, {@code model.merges} in priority
 * order, and {@code added_tokens} with their ids. The pre-split regex is GLM-4's, whatever the file says.
 */
final class HuggingFaceTokenizerFile {
    private HuggingFaceTokenizerFile() {}

    static Vocabulary read(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw TokenizerFormatException.inFile(file, "not valid JSON: " + e.getOriginalMessage());
        }
        JsonNode model = root.path("model");
        String type = model.path("type").asText("");
        if (!type.equals("BPE")) {
            throw TokenizerFormatException.inFile(file, "model type '" + type
                    + "' is not supported; only byte-level BPE (model.type \"BPE\") tokenizers load");
        }
        if (model.path("byte_fallback").asBoolean(false)) {
            throw TokenizerFormatException.inFile(file, "BPE with byte_fallback (SentencePiece style) is not"
                    + " supported; only byte-level BPE tokenizers load");
        }
        JsonNode vocab = model.path("vocab");
        if (!vocab.isObject() || vocab.isEmpty()) {
            throw TokenizerFormatException.inFile(file, "model.vocab is missing or empty");
        }
        int[] unicodeToByte = unicodeToByte();
        byte[][] ordinary = new byte[vocab.size()][];
        ByteSequenceIndex index = new ByteSequenceIndex(vocab.size());
        for (Iterator<Map.Entry<String, JsonNode>> it = vocab.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = it.next();
            int id = entry.getValue().asInt(-1);
            if (id < 0 || id >= ordinary.length) {
                throw TokenizerFormatException.inFile(file, "model.vocab id of '" + entry.getKey() + "' is "
                        + entry.getValue() + ", expected 0.." + (ordinary.length - 1));
            }
            byte[] bytes = toBytes(file, entry.getKey(), unicodeToByte);
            int earlier = index.putIfAbsent(bytes, id);
            if (earlier >= 0 || ordinary[id] != null) {
                throw TokenizerFormatException.inFile(file, "model.vocab token '" + entry.getKey()
                        + "' (id " + id + ") duplicates the bytes or id of another token");
            }
            ordinary[id] = bytes;
        }
        PairMergeTable merges = readMerges(file, model.path("merges"), index, unicodeToByte);
        Map<String, Integer> specials = new LinkedHashMap<>();
        for (JsonNode added : root.path("added_tokens")) {
            specials.put(added.path("content").asText(), added.path("id").asInt());
        }
        return Vocabulary.of(file, ordinary, index, specials, merges, model.path("ignore_merges").asBoolean(false));
    }

    private static PairMergeTable readMerges(Path file, JsonNode merges, ByteSequenceIndex index, int[] unicodeToByte)
            throws TokenizerFormatException {
        PairMergeTable table = new PairMergeTable(merges.size());
        int rank = 0;
        for (JsonNode merge : merges) {
            String left;
            String right;
            if (merge.isArray() && merge.size() == 2) { // tokenizers >= 0.20 writes ["a", "b"]
                left = merge.get(0).asText();
                right = merge.get(1).asText();
            } else {
                String text = merge.asText();
                int space = text.indexOf(' ');
                if (space <= 0) {
                    throw TokenizerFormatException.inFile(file, "model.merges entry " + rank + " '" + text
                            + "' is not 'left right'");
                }
                left = text.substring(0, space);
                right = text.substring(space + 1);
            }
            int leftId = index.get(toBytes(file, left, unicodeToByte));
            int rightId = index.get(toBytes(file, right, unicodeToByte));
            int mergedId = index.get(toBytes(file, left + right, unicodeToByte));
            if (leftId < 0 || rightId < 0 || mergedId < 0) {
                throw TokenizerFormatException.inFile(file, "model.merges entry " + rank + " '" + left + " " + right
                        + "' uses or makes a token that is not in model.vocab");
            }
            table.put(leftId, rightId, rank++, mergedId);
        }
        return table;
    }

    private static byte[] toBytes(Path file, String token, int[] unicodeToByte) throws TokenizerFormatException {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            int b = c < unicodeToByte.length ? unicodeToByte[c] : -1;
            if (b < 0) {
                throw TokenizerFormatException.inFile(file, "token '" + token + "' has character U+"
                        + String.format("%04X", (int) c) + " outside the byte-level alphabet; not a byte-level BPE");
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }

    /**
     * Inverse of GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the
     * other 68 bytes take the characters from U+0100 upward in byte order.
     */
    private static int[] unicodeToByte() {
        int[] map = new int[512];
        Arrays.fill(map, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            map[printable ? b : next++] = b;
        }
        return map;
    }
}
