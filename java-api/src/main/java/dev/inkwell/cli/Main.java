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
              demo      make a drawing, turn it into a ControlNet control map, time it (the default job)
              canny     Canny edges of a PNG/JPEG image, as cv2.Canny computes them
              blur      Gaussian blur of a PNG/JPEG image, as cv2.GaussianBlur computes it
              verify    check every supported case of a golden manifest through the Java API
              crosscheck  run every kernel on a device and on the CPU and compare (--device cuda)
              bench     time every kernel next to OpenCV, BoofCV and libtorch in one run
              version   library version, CPU features, native library in use

            'inkwell <command> --help' describes a command.""";

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            out.println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            Command c = switch (command) {
                case "demo" -> new DemoCommand();
                case "canny" -> new CannyCommand();
                case "blur" -> new BlurCommand();
                case "verify" -> new VerifyCommand();
                case "crosscheck" -> new CrosscheckCommand();
                case "version" -> new VersionCommand();
                case "bench" -> new BenchCommand();
                default -> throw new UsageException("inkwell: unknown command '" + command + "' (see 'inkwell --help')");
            };
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
        } catch (RuntimeException | LinkageError e) { // a bug: one line, the trace on request
            err.println("inkwell " + command + ": internal error: " + e + (System.getenv("INKWELL_DEBUG") == null
                    ? " (set INKWELL_DEBUG=1 for the stack trace)" : ""));
            if (System.getenv("INKWELL_DEBUG") != null) {
                e.printStackTrace(err);
            }
            return 1;
        }
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
