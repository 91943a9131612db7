package io.flinkglm.runtime.backend.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameter lists of a {@code .cu} file's {@code extern "C" __global__} kernels, read from
 * the source, so every launch is checked against the kernel it calls: a wrong count or type is a
 * clear exception on the host instead of garbage read on the device.
 *
 * <pre>{@code
 * KernelSignatures s = KernelSignatures.parse(source);
 * s.check("to_bf16", new Object[] {x, y, 1024L}); // pointer, pointer, long long
 * }</pre>
 */
final class KernelSignatures {
    /** How a parameter is passed from Java: device addresses and 64-bit integers as Long. */
    enum Kind {
        POINTER(Long.class), LONG(Long.class), INT(Integer.class), FLOAT(Float.class);

        final Class<?> javaType;

        Kind(Class<?> javaType) {
            this.javaType = javaType;
        }
    }

    private static final Pattern KERNEL =
            Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)");

    private final Map<String, List<Kind>> kernels;

    private KernelSignatures(Map<String, List<Kind>> kernels) {
        this.kernels = kernels;
    }

    static KernelSignatures parse(String source) {
        Map<String, List<Kind>> kernels = new LinkedHashMap<>();
        Matcher m = KERNEL.matcher(source.replaceAll("//[^\n]*", ""));
        while (m.find()) {
            List<Kind> params = new ArrayList<>();
            for (String param : m.group(2).split(",")) {
                if (!param.isBlank()) {
                    params.add(kind(m.group(1), param.trim()));
                }
            }
            kernels.put(m.group(1), List.copyOf(params));
        }
        return new KernelSignatures(kernels);
    }

    private static Kind kind(String kernel, String param) {
        if (param.contains("*")) {
            return Kind.POINTER;
        }
        String type = param.substring(0, param.lastIndexOf(' ')).replace("const", "").trim();
        return switch (type) {
            case "long long" -> Kind.LONG;
            case "int" -> Kind.INT;
            case "float" -> Kind.FLOAT;
            default -> throw new IllegalArgumentException("kernel " + kernel + ": parameter \"" + param
                    + "\" has a type the launcher cannot pass (use a pointer, int, long long or float)");
        };
    }

    Map<String, List<Kind>> kernels() {
        return kernels;
    }

    /** Throws when {@code args} do not match the kernel's parameters in number and type. */
    void check(String kernel, Object[] args) {
        List<Kind> params = kernels.get(kernel);
        if (params == null) {
            throw new IllegalArgumentException("no kernel " + kernel + " in the source; it has " + kernels.keySet());
        }
        if (params.size() != args.length) {
            throw new IllegalArgumentException("kernel " + kernel + " takes " + params.size() + " arguments "
                    + params + " but the launch passes " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            if (!params.get(i).javaType.isInstance(args[i])) {
                throw new IllegalArgumentException("kernel " + kernel + ": argument " + i + " must be a "
                        + params.get(i).javaType.getSimpleName() + " (" + params.get(i) + ") but is "
                        + (args[i] == null ? "null" : args[i].getClass().getSimpleName()));
            }
        }
    }
}
