package io.flinkglm.runtime.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GLM-4's pre-split: text is cut into pieces by the regex from the reference tokenizer, and BPE
 * never merges across pieces. Unicode character classes make {@code \s}, {@code \p{L}} and
 * {@code \p{N}} match what tiktoken's regex engine matches beyond ASCII.
 */
final class PreTokenizer {
    /** Verbatim from tokenization_chatglm.py / tokenizer.json of GLM-4. */
    static final Pattern GLM4_SPLIT = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** Receives each piece as a {@code [start, end)} range of the text. */
    @FunctionalInterface
    interface PieceSink {
        void piece(int start, int end);
    }

    private PreTokenizer() {}

    /**
     * Splits {@code text[from, to)}. The region's bounds are opaque, so {@code \s+(?!\S)} sees the
     * end of a chunk as the end of text, as it does when tiktoken encodes the chunks between
     * special tokens separately.
     */
    static void split(CharSequence text, int from, int to, PieceSink sink) {
        Matcher m = GLM4_SPLIT.matcher(text);
        m.region(from, to);
        while (m.find()) {
            sink.piece(m.start(), m.end());
        }
    }
}
