package dev.inkwell.cli;

import dev.inkwell.InkwellException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Arrays;

/**
 * The {@code inkwell} command line (started by the {@code ./inkwell} launcher). Errors are
 * one line on stderr and a non-zero exit: 2 for a command line or input to fix, 1 for a
 * failed check or a failure inside the library.
 */
public final class Main {
    static final String USAGE = """
            usage: inkwell <command> [options]

            commands:
              demo      make a drawing, turn it into a ControlNet control map, time it
                        (the default: 'inkwell' with no command runs the demo)
              canny     Canny edges of a PNG/JPEG image, as cv2.Canny computes them
              annotate  ControlNet's Canny control map of a drawing (HWC3, resize_image, Canny)
              colorize  color a line drawing: Stable Diffusion + ControlNet Canny, DDIM (the seed's pipeline)
              prepare-dataset  ControlNet training pairs from a folder of images, on Apache Spark
              blur      Gaussian blur of a PNG/JPEG image, as cv2.GaussianBlur computes it
              lpips     LPIPS perceptual distance (v0.1, AlexNet) of two images
              verify    check every supported case of a golden manifest through the Java API
              crosscheck  run every kernel on a device and on the CPU and compare (--device cuda)
              bench     time every kernel next to OpenCV, BoofCV and libtorch in one run
              unet-bench  time one SD 1.5 ControlNet + U-Net evaluation (random weights)
              version   library version, CPU features, native library in use

            Sizes are printed as W x H (width first), as image tools print them.
            'inkwell <command> --help' describes a command.""";

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help"))) {
            out.println(USAGE);
            return 0;
        }
        String command = args.length == 0 ? DEFAULT_COMMAND : args[0];
        String[] rest = args.length == 0 ? new String[0] : Arrays.copyOfRange(args, 1, args.length);
        try {
            Command c = command(command);
            if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
                out.println(c.help());
                return 0;
            }
            return c.run(rest, out, err);
        } catch (UsageException e) {
            err.println(e.getMessage());
            return 2;
        } catch (IllegalArgumentException e) { // a value the API rejected, e.g. --low -1
            err.println("inkwell " + command + ": " + e.getMessage());
            return 2;
        } catch (IOException e) {
            err.println("inkwell " + command + ": " + describe(e));
            return 2;
        } catch (UncheckedIOException e) {
            err.println("inkwell " + command + ": " + describe(e.getCause()));
            return 2;
        } catch (InkwellException | IllegalStateException e) {
            err.println("inkwell " + command + ": " + e.getMessage());
            return 1;
        } catch (OutOfMemoryError e) { // e.g. an image too large for the heap: the message says which
            err.println("inkwell " + command + ": " + (e.getMessage() == null ? "out of Java heap: raise -Xmx"
                    : e.getMessage()) + (System.getenv("INKWELL_JAVA_OPTIONS") == null
                            ? " (with ./inkwell: INKWELL_JAVA_OPTIONS=-Xmx8g)" : ""));
            return 1;
        } catch (RuntimeException | LinkageError e) { // a bug: one line, the trace on request
            err.println("inkwell " + command + ": internal error: " + e + (System.getenv("INKWELL_DEBUG") == null
                    ? " (set INKWELL_DEBUG=1 for the stack trace)" : ""));
            if (System.getenv("INKWELL_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** What {@code inkwell} with no arguments runs, as the usage says. */
    static final String DEFAULT_COMMAND = "demo";

    /** The command named {@code name}. */
    static Command command(String name) {
        return switch (name) {
            case "demo" -> new DemoCommand();
            case "canny" -> new CannyCommand();
            case "annotate" -> new AnnotateCommand();
            case "colorize" -> new ColorizeCommand();
            case "blur" -> new BlurCommand();
            case "lpips" -> new LpipsCommand();
            case "verify" -> new VerifyCommand();
            case "crosscheck" -> new CrosscheckCommand();
            case "version" -> new VersionCommand();
            case "bench" -> new BenchCommand();
            case "unet-bench" -> new UNetBenchCommand();
            case "prepare-dataset" -> throw new UsageException("inkwell prepare-dataset runs on Apache Spark: start it with ./inkwell prepare-dataset, or spark-submit --class dev.inkwell.spark.PrepareDataset the inkwell-spark jar");
            default -> throw new UsageException("inkwell: unknown command '" + name + "' (see 'inkwell --help')");
        };
    }

    static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException n) {
            return n.getFile() + ": no such file";
        }
        if (e instanceof java.nio.file.AccessDeniedException a) {
            return a.getFile() + ": permission denied";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** One subcommand. */
    interface Command {
        String help();

        int run(String[] args, PrintStream out, PrintStream err) throws IOException;
    }
}
