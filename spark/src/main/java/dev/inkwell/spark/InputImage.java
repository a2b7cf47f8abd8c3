package dev.inkwell.spark;

import java.io.Serializable;

/**
 * One image to prepare, as the driver lists it.
 *
 * @param file the image's full Hadoop path (a URI string)
 * @param relative its path under the input folder, with {@code /} separators: what rejects.json
 *     and caption tables name
 * @param name the output name without extension: the relative path less its extension, or with
 *     the extension's dot made {@code _} when two images differ only by extension
 *     ({@code a.png}, {@code a.jpg} become {@code a_png}, {@code a_jpg})
 * @param captionFile the full Hadoop path of {@code <name>.txt} beside the image, or null
 * @param prompt the prompt from a caption table, or null when it comes from {@code captionFile}
 *     (or there is none)
 */
public record InputImage(String file, String relative, String name, String captionFile, String prompt)
        implements Serializable {}
