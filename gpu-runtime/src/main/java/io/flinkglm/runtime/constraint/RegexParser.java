package io.flinkglm.runtime.constraint;

import java.util.ArrayList;
import java.util.List;

/**
 * Parses the regular-expression subset constraints support into an {@link Rx}, with
 * {@code java.util.regex} meanings (so a JSON-schema {@code pattern} means here what the validator
 * checks): literals, {@code .} (any character but a line terminator), classes {@code [a-z_]},
 * {@code [^"]}, escapes {@code \d \w \s} (ASCII, as Java's defaults) and their negations,
 * {@code \t \n \r \f \xHH \\uHHHH} and escaped metacharacters, groups {@code (...)}, {@code (?:...)},
 * {@code (?<name>...)}, alternation, and quantifiers {@code * + ? {n} {n,} {n,m}} (a lazy or
 * possessive suffix matches the same language, so it is accepted). {@code ^} at the start and
 * {@code $} at the end are accepted and mean what the whole-output match means anyway. Anything
 * else (back-references, look-around, word boundaries, inline flags) is an
 * {@link IllegalArgumentException} naming the construct and its position.
 *
 * <pre>{@code
 * Rx rx = RegexParser.parse("[A-Z]{3}-\\d{4}");
 * }</pre>
 */
final class RegexParser {
    /** Java's line terminators, which {@code .} does not match without DOTALL. */
    private static final CodePointSet LINE_TERMINATORS = CodePointSet.ofChars("\n\r\u0085\u2028\u2029");
    static final CodePointSet DIGIT = CodePointSet.of('0', '9');
    static final CodePointSet WORD = DIGIT.union('a', 'z').union('A', 'Z').union('_', '_');
    static final CodePointSet SPACE = CodePointSet.ofChars(" \t\n\u000B\f\r");

    private final String src;
    private int pos;

    private RegexParser(String src) {
        this.src = src;
    }

    static Rx parse(String regex) {
        RegexParser p = new RegexParser(regex);
        if (p.peek('^')) {
            p.pos++;
        }
        Rx rx = p.alternation();
        if (p.pos < regex.length()) {
            throw p.error("unbalanced ')'");
        }
        return rx;
    }

    private Rx alternation() {
        List<Rx> options = new ArrayList<>();
        options.add(sequence());
        while (peek('|')) {
            pos++;
            options.add(sequence());
        }
        return Rx.alt(options);
    }

    private Rx sequence() {
        List<Rx> items = new ArrayList<>();
        while (pos < src.length() && !peek('|') && !peek(')')) {
            if (peek('$')) {
                pos++;
                if (pos != src.length()) {
                    throw error("'$' is supported only at the end of the pattern");
                }
                break;
            }
            Rx atom = atom();
            items.add(quantified(atom));
        }
        return items.size() == 1 ? items.get(0) : new Rx.Seq(items);
    }

    private Rx quantified(Rx atom) {
        while (pos < src.length()) {
            char c = src.charAt(pos);
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = Rx.UNBOUNDED;
                pos++;
            } else if (c == '+') {
                min = 1;
                max = Rx.UNBOUNDED;
                pos++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                pos++;
            } else if (c == '{' && isCount()) {
                pos++;
                min = number();
                max = min;
                if (peek(',')) {
                    pos++;
                    max = peek('}') ? Rx.UNBOUNDED : number();
                }
                expect('}');
                if (max != Rx.UNBOUNDED && max < min) {
                    throw error("repetition {" + min + "," + max + "} has its maximum below its minimum");
                }
            } else {
                return atom;
            }
            if (peek('?') || peek('+')) {
                pos++; // lazy or possessive: the same set of whole matches
            }
            atom = new Rx.Repeat(atom, min, max);
        }
        return atom;
    }

    private boolean isCount() {
        int i = pos + 1;
        int digits = 0;
        while (i < src.length() && Character.isDigit(src.charAt(i))) {
            i++;
            digits++;
        }
        return digits > 0 && i < src.length() && (src.charAt(i) == '}' || src.charAt(i) == ',');
    }

    private int number() {
        int start = pos;
        while (pos < src.length() && Character.isDigit(src.charAt(pos))) {
            pos++;
        }
        if (start == pos) {
            throw error("expected a number");
        }
        try {
            return Integer.parseInt(src.substring(start, pos));
        } catch (NumberFormatException e) {
            throw error("repetition count " + src.substring(start, pos) + " is too large");
        }
    }

    private Rx atom() {
        int c = src.codePointAt(pos);
        switch (c) {
            case '(' -> {
                pos++;
                if (peek('?')) {
                    if (src.startsWith("?:", pos)) {
                        pos += 2;
                    } else if (src.startsWith("?<", pos) && pos + 2 < src.length()
                            && Character.isLetter(src.charAt(pos + 2))) {
                        int close = src.indexOf('>', pos);
                        if (close < 0) {
                            throw error("unterminated group name");
                        }
                        pos = close + 1;
                    } else {
                        throw error("group construct '(?" + (pos + 1 < src.length() ? src.charAt(pos + 1) : "")
                                + "' (look-around or inline flags) is not supported");
                    }
                }
                Rx inner = alternation();
                expect(')');
                return inner;
            }
            case '[' -> {
                return new Rx.Chars(charClass());
            }
            case '.' -> {
                pos++;
                return new Rx.Chars(LINE_TERMINATORS.complement());
            }
            case '\\' -> {
                return new Rx.Chars(escape(false));
            }
            case '*', '+', '?' -> throw error("quantifier '" + (char) c + "' has nothing to repeat");
            case '^' -> throw error("'^' is supported only at the start of the pattern");
            default -> {
                pos += Character.charCount(c);
                return new Rx.Chars(CodePointSet.of(c, c));
            }
        }
    }

    private CodePointSet charClass() {
        expect('[');
        boolean negate = false;
        if (peek('^')) {
            negate = true;
            pos++;
        }
        CodePointSet set = CodePointSet.EMPTY;
        boolean first = true;
        while (true) {
            if (pos >= src.length()) {
                throw error("unterminated character class");
            }
            if (peek(']') && !first) {
                pos++;
                break;
            }
            if (peek('[')) {
                throw error("nested character classes and class operations are not supported");
            }
            first = false;
            CodePointSet item = classAtom();
            if (peek('-') && pos + 1 < src.length() && src.charAt(pos + 1) != ']') {
                int lo = single(item);
                pos++;
                int hi = single(classAtom());
                if (hi < lo) {
                    throw error("character range is out of order");
                }
                item = CodePointSet.of(lo, hi);
            }
            set = set.union(item);
        }
        return negate ? set.complement() : set;
    }

    private int single(CodePointSet s) {
        int[] r = s.ranges();
        if (r.length != 2 || r[0] != r[1]) {
            throw error("a class escape like \\d cannot bound a range");
        }
        return r[0];
    }

    private CodePointSet classAtom() {
        if (peek('\\')) {
            return escape(true);
        }
        int c = src.codePointAt(pos);
        pos += Character.charCount(c);
        return CodePointSet.of(c, c);
    }

    private CodePointSet escape(boolean inClass) {
        expect('\\');
        if (pos >= src.length()) {
            throw error("pattern ends with a lone backslash");
        }
        char c = src.charAt(pos++);
        return switch (c) {
            case 'd' -> DIGIT;
            case 'D' -> DIGIT.complement();
            case 'w' -> WORD;
            case 'W' -> WORD.complement();
            case 's' -> SPACE;
            case 'S' -> SPACE.complement();
            case 't' -> one('\t');
            case 'n' -> one('\n');
            case 'r' -> one('\r');
            case 'f' -> one('\f');
            case 'e' -> one(0x1B);
            case 'a' -> one(0x07);
            case 'x' -> one(hex(2));
            case 'u' -> one(hex(4));
            default -> {
                if (Character.isLetterOrDigit(c)) {
                    pos -= 2;
                    throw error("escape '\\" + c + "' (a back-reference, boundary or property) is not supported");
                }
                yield one(c);
            }
        };
    }

    private static CodePointSet one(int c) {
        return CodePointSet.of(c, c);
    }

    private int hex(int digits) {
        if (pos + digits > src.length()) {
            throw error("expected " + digits + " hex digits");
        }
        try {
            int v = Integer.parseInt(src.substring(pos, pos + digits), 16);
            pos += digits;
            return v;
        } catch (NumberFormatException e) {
            throw error("expected " + digits + " hex digits");
        }
    }

    private boolean peek(char c) {
        return pos < src.length() && src.charAt(pos) == c;
    }

    private void expect(char c) {
        if (!peek(c)) {
            throw error("expected '" + c + "'");
        }
        pos++;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("regex /" + src + "/ at position " + pos + ": " + what);
    }
}
