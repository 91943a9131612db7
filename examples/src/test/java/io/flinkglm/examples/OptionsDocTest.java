package io.flinkglm.examples;

import static org.assertj.core.api.Assertions.assertThat;

import io.flinkglm.connectors.kafka.KafkaConnectorOptions;
import io.flinkglm.operator.GlmOptions;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.description.HtmlFormatter;
import org.junit.jupiter.api.Test;

/**
 * docs/OPTIONS.md is the options table users read: it must name every option the jobs accept, with the
 * default the code has. When this fails, it prints the rows to paste.
 */
class OptionsDocTest {
    private static final Path DOC = Path.of("..", "docs", "OPTIONS.md");

    @Test
    void everyOptionIsDocumentedWithItsDefault() throws Exception {
        String doc = Files.readString(DOC);
        List<String> missing = new ArrayList<>();
        for (Class<?> holder : List.of(GlmOptions.class, KafkaConnectorOptions.class, JobOptions.class)) {
            for (ConfigOption<?> option : options(holder)) {
                String row = row(option);
                if (!doc.contains(row)) {
                    missing.add(row + " " + new HtmlFormatter().format(option.description()).replace("|", "\\|") + " |");
                }
            }
        }
        if (!missing.isEmpty()) {
            System.err.println("rows for docs/OPTIONS.md:\n" + String.join("\n", missing));
        }
        assertThat(missing).as("options without their row (key and default) in docs/OPTIONS.md").isEmpty();
    }

    /** The table row's start: the key and its default as the code has them. */
    static String row(ConfigOption<?> option) {
        String value = option.hasDefaultValue() ? "`" + option.defaultValue() + "`" : "(none)";
        return "| `" + option.key() + "` | " + value + " |";
    }

    static List<ConfigOption<?>> options(Class<?> holder) throws IllegalAccessException {
        List<ConfigOption<?>> options = new ArrayList<>();
        for (Field f : holder.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && ConfigOption.class.isAssignableFrom(f.getType())) {
                options.add((ConfigOption<?>) f.get(null));
            }
        }
        return options;
    }
}
