package dev.inkwell.cli;

import dev.inkwell.Device;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Options of one command: {@code --name value}, {@code --name=value} and boolean
 * {@code --flag}; everything else is positional. Unknown options and bad values are
 * {@link UsageException}s that name the command and the option.
 */
final class Args {
    private final String command;
    private final Map<String, String> values = new HashMap<>();
    private final List<String> positional = new ArrayList<>();

    private Args(String command) {
        this.command = command;
    }

    static Args parse(String command, String[] args, Set<String> valued, Set<String> flags) {
        Args a = new Args(command);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("--") || arg.equals("--")) {
                a.positional.add(arg);
                continue;
            }
            String name = arg, value = null;
            int eq = arg.indexOf('=');
            if (eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            if (flags.contains(name)) {
                if (value != null) {
                    throw a.usage(name + " takes no value");
                }
                a.values.put(name, "true");
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw a.usage(name + " needs a value");
                    }
                    value = args[++i];
                }
                a.values.put(name, value);
            } else {
                throw a.usage("unknown option " + name + " (see 'inkwell " + command + " --help')");
            }
        }
        return a;
    }

    UsageException usage(String message) {
        return new UsageException("inkwell " + command + ": " + message);
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    double number(String name, double fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw usage(name + " expects a number, got '" + v + "'");
        }
    }

    int integer(String name, int fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw usage(name + " expects an integer, got '" + v + "'");
        }
    }

    Device device() {
        String v = values.getOrDefault("--device", "cpu").toLowerCase(Locale.ROOT);
        return switch (v) {
            case "cpu" -> Device.CPU;
            case "cuda" -> Device.CUDA;
            default -> throw usage("--device must be cpu or cuda, got '" + v + "'");
        };
    }

    Path path(String name) {
        String v = values.get(name);
        return v == null ? null : Path.of(v);
    }

    /** Exactly n positional arguments, named in the message when missing. */
    List<String> positional(String... names) {
        if (positional.size() != names.length) {
            throw usage("expected " + String.join(" ", names) + ", got " + positional.size() + " argument"
                    + (positional.size() == 1 ? "" : "s") + " (see 'inkwell " + command + " --help')");
        }
        return positional;
    }
}
