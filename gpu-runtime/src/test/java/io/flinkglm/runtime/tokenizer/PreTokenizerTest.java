package io.flinkglm.runtime.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The hand-written scanner against the reference regex. */
class PreTokenizerTest {
    /** Every kind of character the regex distinguishes, weighted towards the tricky ones. */
    private static final int[] ALPHABET = {
        'a', 'Z', 's', 'S', 't', 'r', 'e', 'v', 'm', 'l', 'L', 'd', 'D', 0x017F, '\'', '\'', '0', '7',
        ' ', ' ', ' ', '\t', '\n', '\n', '\r', 0x0B, 0x0C, 0x85, 0xA0, 0x2028, 0x3000, '!', '.', '"', '-', '(',
        0x4F60, 0x597D, 0x3002, 0xFF0C, 0x00B2, 0x2167, 0x0660, 0x0301, 0x200D, 0xFE0F, 0x1F680, 0x1F636,
        0x10400, 0x1D7CE, 0xD800, 0xDC00, 0x02B0, 0x01C5,
    };

    @Test
    void scannerGivesTheRegexPiecesOnRandomText() {
        SplittableRandom random = new SplittableRandom(2024);
        for (int sample = 0; sample < 20_000; sample++) {
            StringBuilder text = new StringBuilder();
            for (int i = random.nextInt(1, 24); i > 0; i--) {
                text.appendCodePoint(ALPHABET[random.nextInt(ALPHABET.length)]);
            }
            String s = text.toString();
            // chunks end where special tokens start, so a chunk never splits a surrogate pair
            int from = notInsidePair(s, random.nextInt(3) == 0 ? random.nextInt(s.length() + 1) : 0);
            int to = notInsidePair(s, random.nextInt(3) == 0 ? from + random.nextInt(s.length() - from + 1) : s.length());

            assertThat(pieces(s, from, to, false)).as("%s [%d, %d)", escape(s), from, to).isEqualTo(pieces(s, from, to, true));
        }
    }

    @Test
    void scannerGivesTheRegexPiecesOnMixedText() {
        String text = "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶‍🌫️ 3333333 3..3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
                + "------======= нещо ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, 'RE you sure? We'Ve a'lL \r\n\t x  ";

        assertThat(pieces(text, 0, text.length(), false)).isEqualTo(pieces(text, 0, text.length(), true));
    }

    private static int notInsidePair(String s, int i) {
        return i > 0 && i < s.length() && Character.isHighSurrogate(s.charAt(i - 1)) && Character.isLowSurrogate(s.charAt(i))
                ? i + 1 : i;
    }

    private static List<String> pieces(String text, int from, int to, boolean regex) {
        List<String> out = new ArrayList<>();
        PreTokenizer.PieceSink sink = (start, end) -> out.add(escape(text.substring(start, end)));
        if (regex) {
            PreTokenizer.splitWithRegex(text, from, to, sink);
        } else {
            PreTokenizer.split(text, from, to, sink);
        }
        return out;
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> b.append(c < 0x7F && c >= 0x20 ? String.valueOf((char) c) : String.format("\\u%04X", c)));
        return b.toString();
    }
}
