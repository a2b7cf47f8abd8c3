package dev.inkwell;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.regex.Pattern;

/**
 * What openai/CLIP gets from {@code ftfy.fix_text} (ftfy 6.3.1, default settings), without ftfy.
 * Same structure: the text is fixed line by line (HTML unescaping is off from the first line
 * that contains '<' on), and each line goes through the fixers below, in ftfy's order, until
 * nothing changes:
 *
 * <ol>
 *   <li>HTML references with their ';' ({@link HtmlUnescaper#unescapeStrict});
 *   <li>mojibake, UTF-8 that was read as Latin-1 or Windows-1252 (with ftfy's "sloppy"
 *       pass-through of its 5 unassigned bytes): a line that as a whole reads back as UTF-8 is
 *       decoded, else each run inside it that does ({@code cafÃ©} is {@code café}), repeatedly.
 *       ftfy asks its "badness" heuristic first whether the text looks broken; in its place we
 *       require one of the telltale sequences of {@code hasTypicalMojibake}, so real text is
 *       kept. Not done: ftfy's other code pages (1250/1251/1253/1254/1257, ISO-8859-2,
 *       MacRoman, CP437), mojibake without a telltale, a space standing for byte A0, lossy '�'
 *       sequences, CESU-8 / Java's modified UTF-8;
 *   <li>C1 controls U+0080..U+009F read as Windows-1252 ({@code fix_c1_controls});
 *   <li>Latin ligatures and digraphs split ({@code ﬁ} to {@code fi}, {@code ĳ} to {@code ij});
 *   <li>fullwidth and halfwidth forms U+FF01..U+FFEF to their NFKC form, U+3000 to a space;
 *   <li>curly quotes U+02BC, U+2018..U+201B to ', U+201C..U+201F to ";
 *   <li>line breaks (CR LF, CR, U+2028, U+2029, U+0085) to LF;
 *   <li>unpaired UTF-16 surrogates to U+FFFD;
 *   <li>ANSI terminal escapes removed;
 *   <li>invisible controls removed (U+0000..08, 0B, 0E..1F, 7F, U+206A..206F, U+FEFF,
 *       U+FFF9..FFFC);
 *   <li>NFC normalisation.
 * </ol>
 */
final class ClipTextFixer {
    private ClipTextFixer() {}

    /** ftfy fixes a text in segments of at most this many characters (normally its lines). */
    private static final int MAX_SEGMENT = 1_000_000;

    /** Windows-1252 bytes 0x80..0x9F; the 5 unassigned ones pass through as C1 controls. */
    private static final String WINDOWS_1252_HIGH =
            "\u20AC\u0081\u201A\u0192\u201E\u2026\u2020\u2021\u02C6\u2030\u0160\u2039\u0152\u008D\u017D\u008F"
            + "\u0090\u2018\u2019\u201C\u201D\u2022\u2013\u2014\u02DC\u2122\u0161\u203A\u0153\u009D\u017E\u0178";

    /**
     * Second bytes that, after an "Â", "Ã", "Î" or "Ð", also occur in real text (… ’ Œ Ž ¥:
     * "Ã’s", "DrÃ¥ber"), so that pair alone is no proof of mojibake; one char per byte value.
     */
    private static final String AMBIGUOUS_SECOND = "\u0085\u0092\u008C\u008E\u00A5";

    /**
     * Second bytes of a 3- or 4-byte UTF-8 sequence that, read as Windows-1252, are symbols real
     * text does not put after a letter (€ ƒ † ‡ ˆ ‰ Š Œ Ž ˜ œ Ÿ ¢ £ ¤ ¥ ¦ ¨ ª ¬ ¯ ¸ º) or
     * unassigned; one char per byte value.
     */
    private static final String TELLTALE_SECOND =
            "\u0080\u0081\u0083\u0086\u0087\u0088\u0089\u008A\u008C\u008D\u008E\u008F\u0090\u0098\u009C\u009D\u009F"
            + "\u00A2\u00A3\u00A4\u00A5\u00A6\u00A8\u00AA\u00AC\u00AF\u00B8\u00BA";

    private static final Pattern ANSI_ESCAPE = Pattern.compile("\u001B\\[[\\p{Nd};]*[a-zA-Z]", Pattern.UNICODE_CHARACTER_CLASS);

    /**
     * The character byte b (0x80..0x9F) stands for in Windows-1252, as HTML5 and ftfy read it.
     *
     * @param b a byte value in 0x80..0x9F
     * @return its character (the C1 control itself for the 5 unassigned bytes)
     */
    static char windows1252(int b) {
        return WINDOWS_1252_HIGH.charAt(b - 0x80);
    }

    /**
     * ftfy.fix_text, as far as the class comment describes.
     *
     * @param text any text
     * @return the fixed text
     */
    static String fixText(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean unescapeHtml = true;
        int pos = 0;
        while (pos < text.length()) {
            int end = text.indexOf('\n', pos) + 1;
            if (end == 0) {
                end = text.length();
            }
            if (end - pos > MAX_SEGMENT) {
                end = pos + MAX_SEGMENT;
                if (Character.isHighSurrogate(text.charAt(end - 1))) {
                    end--; // keep the pair together (Python counts code points)
                }
            }
            String segment = text.substring(pos, end);
            if (segment.indexOf('<') >= 0) {
                unescapeHtml = false; // looks like real HTML: its entities are meant (and stays so)
            }
            out.append(fixSegment(segment, unescapeHtml));
            pos = end;
        }
        return out.toString();
    }

    private static String fixSegment(String text, boolean unescapeHtml) {
        while (true) {
            String before = text;
            if (unescapeHtml) {
                text = HtmlUnescaper.unescapeStrict(text);
            }
            text = fixEncoding(text);
            text = fixC1Controls(text);
            text = fixLatinLigatures(text);
            text = fixCharacterWidth(text);
            text = uncurlQuotes(text);
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = ANSI_ESCAPE.matcher(text).replaceAll("");
            text = removeControlChars(text);
            text = Normalizer.normalize(text, Normalizer.Form.NFC);
            if (text.equals(before)) {
                return text;
            }
        }
    }

    /** UTF-8 read as Latin-1 or Windows-1252, undone until it no longer applies. */
    static String fixEncoding(String text) {
        while (true) {
            String fixed = fixEncodingOnce(text);
            if (fixed.equals(text)) {
                return text;
            }
            text = fixed;
        }
    }

    private static String fixEncodingOnce(String text) {
        boolean ascii = true;
        boolean latin1 = true;
        boolean windows1252 = true;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            ascii &= c < 0x80;
            latin1 &= c <= 0xFF;
            windows1252 &= inSloppyWindows1252(c);
        }
        if (ascii) {
            return text;
        }
        // ftfy tries Latin-1 first, then its sloppy Windows-1252: where both can encode a
        // character they give it the same byte, so one attempt covers both
        if (latin1 || windows1252) {
            String decoded = decodeUtf8(encode(text));
            if (decoded != null && hasTypicalMojibake(decoded)) {
                return decoded;
            }
        }
        return decodeMojibakeRuns(text);
    }

    /**
     * Mojibake inside text that as a whole is not (other characters around it, as in
     * "cafÃ© ☕"): each run of characters that reads as whole UTF-8 sequences in Latin-1 /
     * Windows-1252 is decoded on its own, if it passes {@code hasTypicalMojibake} and does not
     * directly follow a character that would continue a sequence (then it is part of a longer
     * garble we cannot read). ftfy's {@code decode_inconsistent_utf8} does the same for its
     * code pages.
     */
    private static String decodeMojibakeRuns(String text) {
        StringBuilder out = null;
        int i = 0;
        while (i < text.length()) {
            int end = i;
            for (int next; (next = utf8SequenceEnd(text, end)) > end; ) {
                end = next;
            }
            if (end > i && (i == 0 || !isContinuation(byteOf(text.charAt(i - 1))))) {
                String decoded = decodeUtf8(encode(text.substring(i, end)));
                if (decoded != null && hasTypicalMojibake(decoded)) {
                    if (out == null) {
                        out = new StringBuilder(text.length()).append(text, 0, i);
                    }
                    out.append(decoded);
                    i = end;
                    continue;
                }
            }
            if (out != null) {
                out.append(text.charAt(i));
            }
            i++;
        }
        return out == null ? text : out.toString();
    }

    /** End of the UTF-8 sequence (lead byte and its continuations, as characters) at i, or i. */
    private static int utf8SequenceEnd(String text, int i) {
        int lead = i < text.length() ? byteOf(text.charAt(i)) : -1;
        int continuations = lead >= 0xC2 && lead <= 0xDF ? 1 : lead >= 0xE0 && lead <= 0xEF ? 2 : lead >= 0xF0 && lead <= 0xF4 ? 3 : 0;
        if (continuations == 0 || i + continuations >= text.length()) {
            return i;
        }
        for (int k = 1; k <= continuations; k++) {
            if (!isContinuation(byteOf(text.charAt(i + k)))) {
                return i;
            }
        }
        return i + 1 + continuations;
    }

    /** The byte c has in Latin-1, or in Windows-1252 above U+00FF; -1 if neither. */
    private static int byteOf(char c) {
        return c <= 0xFF ? c : windows1252Byte(c);
    }

    private static boolean isContinuation(int b) {
        return b >= 0x80 && b <= 0xBF;
    }

    /**
     * Our stand-in for ftfy's "badness" heuristic (which we do not reproduce): whether the
     * decoded line has a character whose mojibake is unmistakable, so that decoding is surely
     * right. ftfy fixes these in any context we tried, and we fix nothing else:
     *
     * <ul>
     *   <li>2-byte UTF-8 led by C2, C3 (U+0080..U+00FF, shown as "Â"/"Ã" and a symbol: "Ã©" is
     *       é), CE (Greek, "Î") or D0 (Cyrillic, "Ð"), unless the second byte is one of
     *       {@link #AMBIGUOUS_SECOND} ("Ã’s" and "DrÃ¥ber" are left alone, as ftfy leaves them);
     *   <li>3- and 4-byte UTF-8 whose second byte is one of {@link #TELLTALE_SECOND}: general
     *       punctuation ("â€™" is ’), dingbats ("âœ”"), emoji ("ðŸ˜€"), most of CJK.
     * </ul>
     *
     * Without such a gate real text would be "fixed": in "NESTLÉ®" or "4288×…" a capital letter
     * or × happens to be followed by a byte that continues it in UTF-8.
     */
    private static boolean hasTypicalMojibake(String decoded) {
        for (int i = 0; i < decoded.length(); ) {
            int cp = decoded.codePointAt(i);
            i += Character.charCount(cp);
            boolean twoByteLead = (cp >= 0x80 && cp <= 0xFF) || (cp >= 0x380 && cp <= 0x3BF) || (cp >= 0x400 && cp <= 0x43F);
            if (twoByteLead && AMBIGUOUS_SECOND.indexOf(0x80 | (cp & 0x3F)) < 0) {
                return true;
            }
            int second = cp >= 0x10000 ? 0x80 | ((cp >> 12) & 0x3F) : cp >= 0x800 ? 0x80 | ((cp >> 6) & 0x3F) : -1;
            if (second >= 0 && TELLTALE_SECOND.indexOf(second) >= 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether ftfy's sloppy Windows-1252 can encode c. Byte 1A is its stand-in for U+FFFD (whose
     * repair we do not do), so neither U+001A nor U+FFFD counts.
     */
    private static boolean inSloppyWindows1252(char c) {
        return c < 0x80 ? c != 0x1A : (c >= 0xA0 && c <= 0xFF) || windows1252Byte(c) >= 0;
    }

    /** The Windows-1252 byte 0x80..0x9F of c, or -1. */
    private static int windows1252Byte(char c) {
        int i = WINDOWS_1252_HIGH.indexOf(c);
        return i < 0 ? -1 : 0x80 + i;
    }

    /** Latin-1, or Windows-1252 for its characters above U+00FF (only called when one of them fits). */
    private static byte[] encode(String text) {
        byte[] bytes = new byte[text.length()];
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            bytes[i] = (byte) (c > 0xFF ? windows1252Byte(c) : c);
        }
        return bytes;
    }

    /** Strict UTF-8 (no overlong forms, no surrogates), or null. */
    private static String decodeUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static String fixC1Controls(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c >= 0x80 && c <= 0x9F) {
                if (out == null) {
                    out = new StringBuilder(text.length()).append(text, 0, i);
                }
                out.append(windows1252(c));
            } else if (out != null) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }

    private static String fixLatinLigatures(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String split = switch (c) {
                case '\u0132' -> "IJ";
                case '\u0133' -> "ij";
                case '\u0149' -> "\u02BCn";
                case '\u01F1' -> "DZ";
                case '\u01F2' -> "Dz";
                case '\u01F3' -> "dz";
                case '\u01C4' -> "D\u017D";
                case '\u01C5' -> "D\u017E";
                case '\u01C6' -> "d\u017E";
                case '\u01C7' -> "LJ";
                case '\u01C8' -> "Lj";
                case '\u01C9' -> "lj";
                case '\u01CA' -> "NJ";
                case '\u01CB' -> "Nj";
                case '\u01CC' -> "nj";
                case '\uFB00' -> "ff";
                case '\uFB01' -> "fi";
                case '\uFB02' -> "fl";
                case '\uFB03' -> "ffi";
                case '\uFB04' -> "ffl";
                case '\uFB05' -> "\u017Ft";
                case '\uFB06' -> "st";
                default -> null;
            };
            if (split != null && out == null) {
                out = new StringBuilder(text.length() + 8).append(text, 0, i);
            }
            if (out != null) {
                if (split != null) {
                    out.append(split);
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? text : out.toString();
    }

    private static String fixCharacterWidth(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            String wide = null;
            if (c == '\u3000') {
                wide = " ";
            } else if (c >= '\uFF01' && c <= '\uFFEF') {
                String nfkc = Normalizer.normalize(String.valueOf(c), Normalizer.Form.NFKC);
                wide = nfkc.equals(String.valueOf(c)) ? null : nfkc;
            }
            if (wide != null && out == null) {
                out = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (out != null) {
                if (wide != null) {
                    out.append(wide);
                } else {
                    out.append(c);
                }
            }
        }
        return out == null ? text : out.toString();
    }

    private static String uncurlQuotes(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean changed = false;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u02BC' || (c >= '\u2018' && c <= '\u201B')) {
                out.append('\'');
                changed = true;
            } else if (c >= '\u201C' && c <= '\u201F') {
                out.append('"');
                changed = true;
            } else {
                out.append(c);
            }
        }
        return changed ? out.toString() : text;
    }

    private static String fixLineBreaks(String text) {
        return text.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n').replace('\u2029', '\n').replace('\u0085', '\n');
    }

    private static String fixSurrogates(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean paired = Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1));
            if (paired) {
                if (out != null) {
                    out.append(c).append(text.charAt(i + 1));
                }
                i++;
                continue;
            }
            boolean lone = Character.isSurrogate(c);
            if (lone && out == null) {
                out = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (out != null) {
                out.append(lone ? '\uFFFD' : c);
            }
        }
        return out == null ? text : out.toString();
    }

    private static boolean isRemovedControl(char c) {
        return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F
                || (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
    }

    private static String removeControlChars(String text) {
        StringBuilder out = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            boolean removed = isRemovedControl(c);
            if (removed && out == null) {
                out = new StringBuilder(text.length()).append(text, 0, i);
            }
            if (out != null && !removed) {
                out.append(c);
            }
        }
        return out == null ? text : out.toString();
    }
}
