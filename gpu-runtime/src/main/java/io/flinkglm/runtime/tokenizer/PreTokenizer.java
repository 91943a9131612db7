package io.flinkglm.runtime.tokenizer;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GLM-4's pre-split: text is cut into pieces by the regex from the reference tokenizer, and BPE
 * never merges across pieces.
 *
 * <p>{@link #split} is a hand-written scanner that gives exactly the regex's pieces at several times
 * its speed (the regex was most of the encode time); {@link #splitWithRegex} runs the regex itself
 * and is the reference the scanner is tested against. Classes are Java's under
 * {@code UNICODE_CHARACTER_CLASS}: letters and numbers by general category, whitespace per
 * {@code \p{IsWhite_Space}}.
 */
final class PreTokenizer {
    /** Verbatim from tokenization_chatglm.py / tokenizer.json of GLM-4. */
    static final Pattern GLM4_SPLIT = Pattern.compile(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final int LETTER = 0;
    private static final int NUMBER = 1;
    private static final int SPACE = 2;
    private static final int OTHER = 3;
    private static final byte[] ASCII_CLASS = new byte[128];

    static {
        for (int c = 0; c < 128; c++) {
            ASCII_CLASS[c] = (byte) classify(c);
        }
    }

    /** Receives each piece as a {@code [start, end)} range of the text. */
    @FunctionalInterface
    interface PieceSink {
        void piece(int start, int end);
    }

    private PreTokenizer() {}

    /**
     * Splits {@code text[from, to)}; the end of the range counts as the end of text, as it does when
     * tiktoken encodes the chunks between special tokens separately.
     */
    static void split(CharSequence text, int from, int to, PieceSink sink) {
        for (int start = from; start < to; ) {
            int end = pieceEnd(text, start, to);
            sink.piece(start, end);
            start = end;
        }
    }

    /** The reference: the regex itself, with opaque region bounds so {@code (?!\S)} sees the chunk end. */
    static void splitWithRegex(CharSequence text, int from, int to, PieceSink sink) {
        Matcher m = GLM4_SPLIT.matcher(text);
        m.region(from, to);
        while (m.find()) {
            sink.piece(m.start(), m.end());
        }
    }

    /** Where the piece starting at {@code i} ends: the regex's alternatives tried in their order. */
    private static int pieceEnd(CharSequence t, int i, int to) {
        int c = codePointAt(t, i, to);
        int next = i + Character.charCount(c);
        int cls = classOf(c);
        if (c == '\'') {
            int end = contractionEnd(t, next, to); // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if (end > 0) {
                return end;
            }
        }
        if (cls == LETTER) { // [^\r\n\p{L}\p{N}]?\p{L}+ without the optional char
            return runEnd(t, next, to, LETTER);
        }
        if (cls != NUMBER && c != '\r' && c != '\n' && next < to && classAt(t, next, to) == LETTER) {
            return runEnd(t, next, to, LETTER); // ... with it
        }
        if (cls == NUMBER) { // \p{N}{1,3}
            int end = next;
            for (int k = 1; k < 3 && end < to && classAt(t, end, to) == NUMBER; k++) {
                end += Character.charCount(codePointAt(t, end, to));
            }
            return end;
        }
        if (cls == OTHER) { // ?[^\s\p{L}\p{N}]+[\r\n]* without the space
            return newlinesEnd(t, runEnd(t, next, to, OTHER), to);
        }
        if (c == ' ' && next < to && classAt(t, next, to) == OTHER) { // ... with it
            return newlinesEnd(t, runEnd(t, next, to, OTHER), to);
        }
        return whitespaceEnd(t, i, to);
    }

    /**
     * For a whitespace run {@code [i, j)}: {@code \s*[\r\n]+} backtracks to just after the run's last
     * line break; failing that {@code \s+(?!\S)} takes the run if it ends the text, else all but its
     * last char (if that leaves one); failing that {@code \s+} takes the whole run.
     */
    private static int whitespaceEnd(CharSequence t, int i, int to) {
        int afterLastBreak = -1;
        int last = i;
        int j = i;
        while (j < to && classAt(t, j, to) == SPACE) {
            char c = t.charAt(j); // whitespace is all in the BMP
            if (c == '\r' || c == '\n') {
                afterLastBreak = j + 1;
            }
            last = j++;
        }
        if (afterLastBreak > 0) {
            return afterLastBreak;
        }
        if (j == to || last == i) {
            return j;
        }
        return last;
    }

    private static int contractionEnd(CharSequence t, int i, int to) {
        for (String suffix : new String[] {"s", "t", "re", "ve", "m", "ll", "d"}) {
            if (i + suffix.length() <= to && matchesIgnoringCase(t, i, suffix)) {
                return i + suffix.length();
            }
        }
        return -1;
    }

    /** Java's Unicode case-insensitive match, which also lets U+017F (long s) match 's'. */
    private static boolean matchesIgnoringCase(CharSequence t, int i, String lower) {
        for (int k = 0; k < lower.length(); k++) {
            char c = t.charAt(i + k);
            char want = lower.charAt(k);
            if (c != want && Character.toLowerCase(Character.toUpperCase(c)) != want) {
                return false;
            }
        }
        return true;
    }

    private static int runEnd(CharSequence t, int i, int to, int cls) {
        while (i < to) {
            int c = codePointAt(t, i, to);
            if (classOf(c) != cls) {
                break;
            }
            i += Character.charCount(c);
        }
        return i;
    }

    private static int newlinesEnd(CharSequence t, int i, int to) {
        while (i < to && (t.charAt(i) == '\r' || t.charAt(i) == '\n')) {
            i++;
        }
        return i;
    }

    private static int classAt(CharSequence t, int i, int to) {
        return classOf(codePointAt(t, i, to));
    }

    /** The code point at {@code i}, never pairing a surrogate with a char past {@code to}, as the regex region does not. */
    private static int codePointAt(CharSequence t, int i, int to) {
        char c = t.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(t.charAt(i + 1))) {
            return Character.toCodePoint(c, t.charAt(i + 1));
        }
        return c;
    }

    private static int classOf(int c) {
        return c < 128 ? ASCII_CLASS[c] : classify(c);
    }

    private static int classify(int c) {
        switch (Character.getType(c)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                    Character.MODIFIER_LETTER, Character.OTHER_LETTER:
                return LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
                return NUMBER;
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR:
                return SPACE;
            default:
                return (c >= 0x9 && c <= 0xD) || c == 0x85 ? SPACE : OTHER;
        }
    }
}
