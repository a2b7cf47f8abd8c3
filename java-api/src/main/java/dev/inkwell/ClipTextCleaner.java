package dev.inkwell;

import java.util.Locale;

/**
 * openai/CLIP's text cleaning before BPE: {@code whitespace_clean(basic_clean(text)).lower()},
 * that is ftfy (here {@link ClipTextFixer}), {@code html.unescape} twice, strip, every run of
 * Unicode white space to one space, strip, lower case.
 */
final class ClipTextCleaner {
    private ClipTextCleaner() {}

    /**
     * The text as CLIP's BPE sees it.
     *
     * @param text any text
     * @return the cleaned text: no leading, trailing or repeated white space, lower case
     */
    static String clean(String text) {
        String t = ClipTextFixer.fixText(text);
        t = HtmlUnescaper.unescape(HtmlUnescaper.unescape(t));
        // Python's str.strip() knows U+001C..U+001F as white space too, the regex \s (Unicode
        // White_Space) does not; then the regex collapses, and strip() again.
        t = collapseWhiteSpace(strip(t));
        return lowerCase(strip(t));
    }

    /**
     * Python's str.lower(): full lower-case mappings (İ becomes "i̇"), and Σ becomes final ς by
     * Unicode's Final_Sigma rule (a cased letter before it, none after it, case-ignorable
     * characters such as ' skipped). Java's toLowerCase decides that by word boundaries
     * instead ("ΣΑΣ'안녕" would keep σ), so Σ is handled here and the rest by Java.
     *
     * @param s any text
     * @return s in lower case
     */
    static String lowerCase(String s) {
        int sigma = s.indexOf('\u03A3');
        if (sigma < 0) {
            return s.toLowerCase(Locale.ROOT);
        }
        StringBuilder out = new StringBuilder(s.length() + 8);
        int start = 0;
        while (sigma >= 0) {
            // no Σ in between: Java's only context-dependent mapping for Locale.ROOT is Σ's
            out.append(s.substring(start, sigma).toLowerCase(Locale.ROOT));
            out.append(isFinalSigma(s, sigma) ? '\u03C2' : '\u03C3');
            start = sigma + 1;
            sigma = s.indexOf('\u03A3', start);
        }
        return out.append(s.substring(start).toLowerCase(Locale.ROOT)).toString();
    }

    private static boolean isFinalSigma(String s, int at) {
        int i = at;
        int before = -1;
        while (i > 0) {
            int cp = s.codePointBefore(i);
            i -= Character.charCount(cp);
            if (!isCaseIgnorable(cp)) {
                before = cp;
                break;
            }
        }
        if (before < 0 || !isCased(before)) {
            return false;
        }
        for (int j = at + 1; j < s.length(); ) {
            int cp = s.codePointAt(j);
            j += Character.charCount(cp);
            if (!isCaseIgnorable(cp)) {
                return !isCased(cp);
            }
        }
        return true;
    }

    /** Unicode's Cased property: Lowercase, Uppercase or a title-case letter. */
    private static boolean isCased(int cp) {
        return Character.isLowerCase(cp) || Character.isUpperCase(cp) || Character.isTitleCase(cp);
    }

    /** Unicode's Case_Ignorable property: marks, format controls, modifiers, and the word-internal ' . : · etc. */
    private static boolean isCaseIgnorable(int cp) {
        switch (Character.getType(cp)) {
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.FORMAT,
                    Character.MODIFIER_LETTER, Character.MODIFIER_SYMBOL:
                return true;
            default:
                break;
        }
        // Word_Break MidLetter, MidNumLet and Single_Quote
        return switch (cp) {
            case 0x0027, 0x002E, 0x003A, 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027,
                    0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A -> true;
            default -> false;
        };
    }

    /** Python's str.isspace() for one code point. */
    static boolean isPythonSpace(int cp) {
        return isWhiteSpace(cp) || (cp >= 0x1C && cp <= 0x1F);
    }

    /** The Unicode White_Space property (the {@code regex} module's \s). */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F
                || cp == 0x205F || cp == 0x3000;
    }

    private static String strip(String s) {
        int start = 0;
        int end = s.length();
        while (start < end && isPythonSpace(s.charAt(start))) {
            start++;
        }
        while (end > start && isPythonSpace(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(start, end);
    }

    private static String collapseWhiteSpace(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean inSpace = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i); // every White_Space character is in the BMP
            if (isWhiteSpace(c)) {
                if (!inSpace) {
                    out.append(' ');
                }
                inSpace = true;
            } else {
                out.append(c);
                inSpace = false;
            }
        }
        return out.toString();
    }
}
