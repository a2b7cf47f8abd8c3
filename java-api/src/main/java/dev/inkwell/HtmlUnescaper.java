package dev.inkwell;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTML character references, decoded the two ways CLIP's text cleaning needs:
 *
 * <ul>
 *   <li>{@link #unescape(String)}: the rules of Python's {@code html.unescape} (HTML5's, incl.
 *       the 106 legacy names without ';', the longest-prefix rule, numeric references with
 *       Windows-1252 fix-ups for 0x80..0x9F, U+FFFD for surrogates and out-of-range numbers, and
 *       nothing for the non-characters HTML5 forbids). openai/CLIP applies it twice.
 *   <li>{@link #unescapeStrict(String)}: ftfy's {@code unescape_html}: only {@code &name;} and
 *       {@code &#...;} with the semicolon, at most 24 ASCII letters or digits, plus the
 *       upper-cased form of lower-case names when that form is not itself an entity
 *       ({@code &EACUTE;} is É).
 * </ul>
 *
 * The names are the WHATWG table in {@code html5-entities.txt} beside this class.
 */
final class HtmlUnescaper {
    private HtmlUnescaper() {}

    /** Name as written after '&' (with its ';' if it has one) to its characters. */
    private static final Map<String, String> HTML5 = loadTable();
    /** "&NAME;" to its characters, for the ftfy form (the names that end in ';' only). */
    private static final Map<String, String> STRICT = strictTable();

    private static Map<String, String> loadTable() {
        Map<String, String> table = new HashMap<>(4096);
        try (InputStream in = HtmlUnescaper.class.getResourceAsStream("html5-entities.txt")) {
            if (in == null) {
                throw new IllegalStateException("html5-entities.txt is missing beside " + HtmlUnescaper.class.getName());
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                int tab = line.indexOf('\t');
                StringBuilder value = new StringBuilder(2);
                for (String hex : line.substring(tab + 1).split(" ")) {
                    value.appendCodePoint(Integer.parseInt(hex, 16));
                }
                table.put(line.substring(0, tab), value.toString());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read html5-entities.txt", e);
        }
        return Map.copyOf(table);
    }

    private static Map<String, String> strictTable() {
        Map<String, String> table = new HashMap<>(4096);
        for (Map.Entry<String, String> e : HTML5.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(";")) {
                continue;
            }
            table.put("&" + name, e.getValue());
            // ftfy adds "&NAME;" for a lower-case name when full HTML5 decoding would leave that
            // upper-cased text alone (so it cannot mean anything else).
            if (name.equals(name.toLowerCase(Locale.ROOT))) {
                String upper = "&" + name.toUpperCase(Locale.ROOT);
                if (unescape(upper).equals(upper)) {
                    table.putIfAbsent(upper, e.getValue().toUpperCase(Locale.ROOT));
                }
            }
        }
        return Map.copyOf(table);
    }

    /**
     * Python's {@code html.unescape(s)}.
     *
     * @param s any text
     * @return s with every character reference replaced
     */
    static String unescape(String s) {
        int amp = s.indexOf('&');
        if (amp < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        out.append(s, 0, amp);
        int i = amp;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c != '&') {
                out.append(c);
                i++;
                continue;
            }
            int end = numericEnd(s, i + 1);
            if (end > 0) {
                out.append(numericReference(s, i + 1, end));
                i = end;
                continue;
            }
            end = nameEnd(s, i + 1);
            if (end > 0) {
                out.append(namedReference(s.substring(i + 1, end)));
                i = end;
                continue;
            }
            out.append(c); // a lone '&' (or "&#" without digits) stays
            i++;
        }
        return out.toString();
    }

    /** End (exclusive) of "#digits;?" or "#xhex;?" starting at from, or -1. */
    private static int numericEnd(String s, int from) {
        if (from >= s.length() || s.charAt(from) != '#') {
            return -1;
        }
        int i = from + 1;
        boolean hex = i < s.length() && (s.charAt(i) == 'x' || s.charAt(i) == 'X');
        int digitsStart = hex ? i + 1 : i;
        int j = digitsStart;
        while (j < s.length() && (hex ? isAsciiHexDigit(s.charAt(j)) : isAsciiDigit(s.charAt(j)))) {
            j++;
        }
        if (j == digitsStart) {
            // "&#x" without hex digits: the decimal form cannot match either ('x' is no digit)
            return -1;
        }
        return j < s.length() && s.charAt(j) == ';' ? j + 1 : j;
    }

    private static String numericReference(String s, int from, int end) {
        boolean hex = s.charAt(from + 1) == 'x' || s.charAt(from + 1) == 'X';
        int digitsEnd = s.charAt(end - 1) == ';' ? end - 1 : end;
        long num = 0;
        for (int k = from + (hex ? 2 : 1); k < digitsEnd; k++) {
            num = num * (hex ? 16 : 10) + Character.digit(s.charAt(k), 16);
            if (num > 0x10FFFF) {
                num = 0x110000; // beyond Unicode, however long the digits go on
            }
        }
        int cp = (int) num;
        if (cp == 0x00) {
            return "\uFFFD";
        }
        if (cp == 0x0D) {
            return "\r";
        }
        if (cp >= 0x80 && cp <= 0x9F) {
            return String.valueOf(ClipTextFixer.windows1252(cp)); // HTML5's fix-up table
        }
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return "\uFFFD";
        }
        if ((cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F
                || (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) {
            return "";
        }
        return Character.toString(cp);
    }

    /** End (exclusive) of up to 32 code points other than \t \n \f space < & # ;, then ';'?, or -1. */
    private static int nameEnd(String s, int from) {
        int i = from;
        int count = 0;
        while (i < s.length() && count < 32) {
            int cp = s.codePointAt(i);
            if (cp == '\t' || cp == '\n' || cp == '\f' || cp == ' ' || cp == '<' || cp == '&' || cp == '#' || cp == ';') {
                break;
            }
            i += Character.charCount(cp);
            count++;
        }
        if (count == 0) {
            return -1;
        }
        return i < s.length() && s.charAt(i) == ';' ? i + 1 : i;
    }

    private static String namedReference(String name) {
        String value = HTML5.get(name);
        if (value != null) {
            return value;
        }
        // the longest prefix of at least 2 code points that is a name (only the legacy names
        // without ';' can be), the rest kept as text
        int cps = name.codePointCount(0, name.length());
        for (int x = cps - 1; x >= 2; x--) {
            int cut = name.offsetByCodePoints(0, x);
            value = HTML5.get(name.substring(0, cut));
            if (value != null) {
                return value + name.substring(cut);
            }
        }
        return "&" + name;
    }

    /**
     * ftfy's {@code unescape_html(s)}: only references that end in ';' (see the class comment).
     *
     * @param s any text
     * @return s with the unambiguous references replaced
     */
    static String unescapeStrict(String s) {
        int amp = s.indexOf('&');
        if (amp < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        out.append(s, 0, amp);
        int i = amp;
        while (i < s.length()) {
            char c = s.charAt(i);
            int end = c == '&' ? strictEnd(s, i) : -1;
            if (end < 0) {
                out.append(c);
                i++;
                continue;
            }
            String reference = s.substring(i, end);
            String value = STRICT.get(reference);
            if (value == null && reference.startsWith("&#")) {
                String decoded = unescape(reference);
                // html.unescape may consume only part of it ("&#65a;"): then it is no reference
                value = decoded.indexOf(';') >= 0 ? null : decoded;
            }
            out.append(value != null ? value : reference);
            i = end;
        }
        return out.toString();
    }

    /** End (exclusive) of "&#?[0-9A-Za-z]{1,24};" at i, or -1. */
    private static int strictEnd(String s, int i) {
        int j = i + 1;
        if (j < s.length() && s.charAt(j) == '#') {
            j++;
        }
        int start = j;
        while (j < s.length() && j - start < 24 && isAsciiAlnum(s.charAt(j))) {
            j++;
        }
        if (j == start || j >= s.length() || s.charAt(j) != ';') {
            return -1;
        }
        return j + 1;
    }

    private static boolean isAsciiDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isAsciiHexDigit(char c) {
        return isAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }

    private static boolean isAsciiAlnum(char c) {
        return isAsciiDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
}
