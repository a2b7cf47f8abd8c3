package dev.inkwell.spark;

import java.io.IOException;
import java.net.URI;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local disk under another scheme ({@code inkwelltest:///tmp/...}): a Hadoop file system
 * that is not {@code file:}, as HDFS or S3 are not, so that the job takes its remote path
 * (inputs copied to a local file before decoding) in a test.
 */
public class OtherSchemeFileSystem extends RawLocalFileSystem {
    /** The scheme, registered as {@code fs.inkwelltest.impl}. */
    static final String SCHEME = "inkwelltest";

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    // The local file system reads permissions through java.nio with the path's URI, which
    // only works for file: URIs; plain statuses (default permissions) avoid that.
    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
        return plain(super.getFileStatus(f));
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
        FileStatus[] all = super.listStatus(f);
        for (int i = 0; i < all.length; i++) {
            all[i] = plain(all[i]);
        }
        return all;
    }

    private static FileStatus plain(FileStatus s) {
        return new FileStatus(s.getLen(), s.isDirectory(), s.getReplication(), s.getBlockSize(), s.getModificationTime(),
                s.getPath());
    }
}
