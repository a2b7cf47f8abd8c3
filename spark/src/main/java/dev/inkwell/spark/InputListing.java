package dev.inkwell.spark;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * Lists the images under the input folder on the driver, recursively: files ending in
 * {@code .png}, {@code .jpg} or {@code .jpeg} (any case), skipping hidden ones ({@code .x}
 * and what is under such folders, and Hadoop's {@code _temporary}), sorted by relative path, each with its output
 * name and its {@code .txt} caption when there is one beside it.
 */
final class InputListing {
    private static final List<String> EXTENSIONS = List.of(".png", ".jpg", ".jpeg");

    private InputListing() {}

    static List<InputImage> list(Configuration conf, String input, String output) throws IOException {
        Path root = new Path(input);
        FileSystem fs = root.getFileSystem(conf);
        Path qualifiedRoot = fs.makeQualified(root);
        FileStatus status;
        try {
            status = fs.getFileStatus(qualifiedRoot);
        } catch (FileNotFoundException e) {
            throw new FileNotFoundException(input + ": no such folder");
        }
        if (!status.isDirectory()) {
            throw new IOException(input + ": not a folder (give the folder that holds the images)");
        }
        Path out = new Path(output);
        String outUri = out.getFileSystem(conf).makeQualified(out).toUri().toString();
        String rootUri = qualifiedRoot.toUri().toString();
        if (outUri.equals(rootUri) || outUri.startsWith(rootUri.endsWith("/") ? rootUri : rootUri + "/")) {
            throw new IllegalArgumentException("OUT (" + output + ") is inside IN (" + input
                    + "): a second run would read the first one's output; choose another folder");
        }
        String prefix = qualifiedRoot.toUri().getPath();
        prefix = prefix.endsWith("/") ? prefix : prefix + "/";

        List<String[]> images = new ArrayList<>(); // {relative, full}
        Set<String> texts = new HashSet<>();
        RemoteIterator<LocatedFileStatus> files = fs.listFiles(qualifiedRoot, true);
        while (files.hasNext()) {
            Path p = files.next().getPath();
            String path = p.toUri().getPath();
            if (!path.startsWith(prefix)) {
                continue;
            }
            String relative = path.substring(prefix.length());
            if (hidden(relative)) {
                continue;
            }
            String lower = relative.toLowerCase(Locale.ROOT);
            if (lower.endsWith(".txt")) {
                texts.add(relative);
            } else if (EXTENSIONS.stream().anyMatch(lower::endsWith)) {
                images.add(new String[] {relative, p.toString()});
            }
        }
        images.sort((a, b) -> a[0].compareTo(b[0]));

        Map<String, Integer> stems = new HashMap<>();
        for (String[] image : images) {
            stems.merge(stem(image[0]), 1, Integer::sum);
        }
        List<InputImage> listed = new ArrayList<>(images.size());
        Map<String, String> names = new HashMap<>();
        for (String[] image : images) {
            String stem = stem(image[0]);
            String name = stems.get(stem) > 1 ? stem + "_" + image[0].substring(stem.length() + 1) : stem;
            String other = names.putIfAbsent(name, image[0]);
            if (other != null) { // a_png.png beside a.png and a.jpg: refuse rather than overwrite one
                throw new IllegalArgumentException(input + ": " + other + " and " + image[0]
                        + " would both be written as " + name + ".png; rename one");
            }
            String caption = stem + ".txt";
            listed.add(new InputImage(image[1], image[0], name,
                    texts.contains(caption) ? new Path(qualifiedRoot, caption).toString() : null, null));
        }
        return listed;
    }

    /** The relative path less its extension. */
    static String stem(String relative) {
        int slash = relative.lastIndexOf('/'), dot = relative.lastIndexOf('.');
        return dot > slash + 1 ? relative.substring(0, dot) : relative;
    }

    private static boolean hidden(String relative) {
        for (String part : relative.split("/")) {
            if (part.startsWith(".") || part.equals("_temporary")) {
                return true;
            }
        }
        return false;
    }
}
