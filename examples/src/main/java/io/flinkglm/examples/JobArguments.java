package io.flinkglm.examples;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.annotation.Internal;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.description.Description;
import org.apache.flink.configuration.description.Formatter;
import org.apache.flink.configuration.description.TextElement;
import org.apache.flink.util.TimeUtils;

/**
 * Turns a job's {@code --key value} arguments into a Flink {@link Configuration}. The known keys are every
 * {@link ConfigOption} constant of {@link GlmOptions}, {@link KafkaConnectorOptions} and {@link JobOptions},
 * and any Kafka client property as {@code glm.kafka.properties.<key>}; an unknown key or a value of the wrong
 * type is an error that lists what is accepted.
 *
 * <pre>{@code
 * Configuration conf = JobArguments.parse(new String[] {"--glm.model.path", "/models/glm4", "--glm.capacity", "32"});
 * conf.get(GlmOptions.CAPACITY); // 32
 * }</pre>
 */
@Internal
public final class JobArguments {

    /** Every option the example jobs accept, by key, in declaration order. */
    public static final Map<String, ConfigOption<?>> OPTIONS =
            optionsOf(GlmOptions.class, KafkaConnectorOptions.class, JobOptions.class);

    private JobArguments() {}

    /** The options in {@code args}; also checks every value against its option's type. */
    public static Configuration parse(String[] args) {
        return toConfiguration(pairs(args));
    }

    /** {@code --key value} pairs in order, without checking the keys (a launcher takes its own out first). */
    public static Map<String, String> pairs(String[] args) {
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (!args[i].startsWith("--") || args[i].length() == 2) {
                throw new IllegalArgumentException("expected --key value pairs, but argument " + (i + 1) + " is \""
                        + args[i] + "\"\n" + usage());
            }
            String key = args[i].substring(2);
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("--" + key + " has no value");
            }
            if (values.put(key, args[i + 1]) != null) {
                throw new IllegalArgumentException("--" + key + " is given twice");
            }
        }
        return values;
    }

    /** The configuration of {@code values}, each key a known option and each value of its option's type. */
    public static Configuration toConfiguration(Map<String, String> values) {
        values.keySet().stream().filter(key -> !OPTIONS.containsKey(key) && !isKafkaProperty(key)).findFirst()
                .ifPresent(key -> {
                    throw new IllegalArgumentException("unknown option --" + key + "\n" + usage());
                });
        Configuration config = Configuration.fromMap(values);
        values.forEach((key, raw) -> {
            if (isKafkaProperty(key)) {
                KafkaConnectorOptions.checkPropertyKey(key.substring(KafkaConnectorOptions.PROPERTIES_PREFIX.length()));
            } else {
                checkValue(config, OPTIONS.get(key), raw);
            }
        });
        return config;
    }

    /** {@code glm.kafka.properties.<key>}: a Kafka client property, passed through unchecked to Kafka. */
    private static boolean isKafkaProperty(String key) {
        return key.startsWith(KafkaConnectorOptions.PROPERTIES_PREFIX);
    }

    /** The known options, one per line, with their defaults and descriptions. */
    public static String usage() {
        return "known options:\n" + OPTIONS.values().stream()
                .map(o -> "  --" + o.key() + (o.hasDefaultValue() ? " (default " + defaultText(o) + ")" : "")
                        + "\n      " + PlainText.of(o.description()))
                .collect(Collectors.joining("\n"))
                + "\n  --" + KafkaConnectorOptions.PROPERTIES_PREFIX + "<kafka client property>"
                + "\n      Passed to every Kafka consumer, producer and admin client of the job without the prefix,"
                + "\n      e.g. --" + KafkaConnectorOptions.PROPERTIES_PREFIX + "security.protocol SASL_SSL";
    }

    /** The default as it would be written on the command line: {@code 5 min}, not {@code PT5M}. */
    private static String defaultText(ConfigOption<?> option) {
        Object value = option.defaultValue();
        return value instanceof Duration d ? TimeUtils.formatWithHighestUnit(d) : String.valueOf(value);
    }

    /** Flink ships only an HTML formatter for option descriptions; a terminal wants the words. */
    private static final class PlainText extends Formatter {
        static String of(Description description) {
            return new PlainText().format(description);
        }

        @Override
        protected void formatLink(StringBuilder state, String link, String description) {
            state.append(description).append(" (").append(link).append(')');
        }

        @Override
        protected void formatLineBreak(StringBuilder state) {
            state.append("\n      ");
        }

        @Override
        protected void formatText(StringBuilder state, String format, String[] elements,
                EnumSet<TextElement.TextStyle> styles) {
            state.append(String.format(format, (Object[]) elements));
        }

        @Override
        protected void formatList(StringBuilder state, String[] entries) {
            for (String entry : entries) {
                state.append("\n        - ").append(entry);
            }
        }

        @Override
        protected Formatter newInstance() {
            return new PlainText();
        }
    }

    private static void checkValue(Configuration config, ConfigOption<?> option, String raw) {
        try {
            config.get(option); // Flink converts the string to the option's type here
        } catch (IllegalArgumentException e) {
            Object example = option.hasDefaultValue() ? defaultText(option) : null;
            throw new IllegalArgumentException("--" + option.key() + " \"" + raw + "\" is not a valid value"
                    + (example != null ? " (e.g. " + example + ")" : "") + ": " + e.getMessage(), e);
        }
    }

    private static Map<String, ConfigOption<?>> optionsOf(Class<?>... holders) {
        Map<String, ConfigOption<?>> options = new LinkedHashMap<>();
        for (Class<?> holder : holders) {
            for (Field field : holder.getFields()) {
                if (Modifier.isStatic(field.getModifiers()) && field.getType() == ConfigOption.class) {
                    try {
                        ConfigOption<?> option = (ConfigOption<?>) field.get(null);
                        options.put(option.key(), option);
                    } catch (IllegalAccessException e) {
                        throw new IllegalStateException("cannot read " + holder.getSimpleName() + "." + field.getName(), e);
                    }
                }
            }
        }
        return Collections.unmodifiableMap(options);
    }
}
