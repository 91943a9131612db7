package io.flinkglm.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What either tokenizer file form loads into: the bytes of every id, the special tokens, and the
 * encoder over the ordinary tokens. Special tokens are kept out of the byte index so that ordinary
 * text can never encode to one.
 */
record Vocabulary(byte[][] tokenBytes, Map<String, Integer> specialIds, BytePairEncoder encoder) {

    /**
     * The GLM-4 special tokens in id order; in tokenizer.model they take the ids after the last rank
     * (151329.. for the real vocabulary), as the reference tokenization_chatglm.py assigns them.
     */
    static final String[] GLM4_SPECIALS = {
        "<|endoftext|>", "[MASK]", "[gMASK]", "[sMASK]", "<sop>", "<eop>", "<|system|>", "<|user|>",
        "<|assistant|>", "<|observation|>", "<|begin_of_image|>", "<|end_of_image|>",
        "<|begin_of_video|>", "<|end_of_video|>",
    };

    /** The specials that end an assistant turn (config.json's eos_token_id 151329, 151336, 151338). */
    static final List<String> GLM4_STOP_TOKENS = List.of("<|endoftext|>", "<|user|>", "<|observation|>");

    /**
     * Builds the vocabulary from ordinary tokens (all ids below {@code ordinary.length} that are
     * non-null) and special tokens at the given ids; {@code merges} null means "derive tiktoken's".
     */
    static Vocabulary of(Path file, byte[][] ordinary, ByteSequenceIndex index, Map<String, Integer> specials,
                         PairMergeTable merges, boolean wholePieceFirst) throws TokenizerFormatException {
        int size = ordinary.length;
        for (int id : specials.values()) {
            size = Math.max(size, id + 1);
        }
        byte[][] all = new byte[size][];
        System.arraycopy(ordinary, 0, all, 0, ordinary.length);
        for (Map.Entry<String, Integer> special : specials.entrySet()) {
            all[special.getValue()] = special.getKey().getBytes(StandardCharsets.UTF_8);
        }
        for (int id = 0; id < size; id++) {
            if (all[id] == null) {
                throw TokenizerFormatException.inFile(file, "no token has id " + id
                        + " (ids must run from 0 to " + (size - 1) + " without gaps)");
            }
        }
        int[] byteTokenIds = new int[256];
        byte[] one = new byte[1];
        for (int b = 0; b < 256; b++) {
            one[0] = (byte) b;
            byteTokenIds[b] = index.get(one);
            if (byteTokenIds[b] < 0) {
                throw TokenizerFormatException.inFile(file, String.format(
                        "no token for the single byte 0x%02X, so not every text could be encoded", b));
            }
        }
        PairMergeTable table = merges != null ? merges : BytePairEncoder.mergesFromRanks(ordinary, ordinary.length, index);
        return new Vocabulary(all, Collections.unmodifiableMap(new LinkedHashMap<>(specials)),
                new BytePairEncoder(index, table, byteTokenIds, wholePieceFirst));
    }
}
