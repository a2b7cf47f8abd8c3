package dev.inkwell.spark;

import dev.inkwell.Inkwell;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;

/**
 * The one Inkwell context of this JVM (an executor's, or the driver's in local mode), made
 * on first use and shared by every task and thread that runs here: contexts are thread-safe
 * (their calls run one at a time on the context's worker pool, which uses the executor's
 * cores), so tasks decode and encode PNGs side by side and take turns for the kernels. It is
 * never made per row or per task. A shutdown hook closes it when the JVM exits.
 *
 * <p>Worker threads: {@value #THREADS_CONF} if set, else {@code spark.executor.cores} (a
 * cluster executor shares its machine), else every hardware thread (local mode).
 */
public final class ExecutorInkwell {
    /** Spark setting for the context's worker threads (0: every hardware thread). */
    public static final String THREADS_CONF = "spark.inkwell.threads";

    private static Inkwell context;

    private ExecutorInkwell() {}

    /**
     * This JVM's context, made on the first call.
     *
     * @return the shared CPU context; never close it
     * @throws dev.inkwell.InkwellException if the native library cannot be loaded here
     */
    public static synchronized Inkwell get() {
        if (context == null) {
            Inkwell created = Inkwell.builder().threads(threads()).build();
            Runtime.getRuntime().addShutdownHook(new Thread(created::close, "inkwell-context-close"));
            context = created;
        }
        return context;
    }

    private static int threads() {
        SparkEnv env = SparkEnv.get();
        if (env == null) {
            return 0;
        }
        SparkConf conf = env.conf();
        if (conf.contains(THREADS_CONF)) {
            return conf.getInt(THREADS_CONF, 0);
        }
        return conf.contains("spark.executor.cores") && !isLocal(conf) ? conf.getInt("spark.executor.cores", 0) : 0;
    }

    private static boolean isLocal(SparkConf conf) {
        return conf.get("spark.master", "local").startsWith("local");
    }
}
