package io.flinkglm.sql;

import io.flinkglm.sql.GlmModelOptions.Task;
import org.apache.flink.annotation.Internal;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.BooleanType;
import org.apache.flink.table.types.logical.DoubleType;
import org.apache.flink.table.types.logical.IntType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.MapType;
import org.apache.flink.table.types.logical.VarCharType;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Every output column a task can fill, by name and type. A model declares any subset of its task's
 * columns, in any order; {@link ModelSignature} maps the declared ones onto these.
 */
@Internal
enum OutputColumn {
    RESPONSE("response", string(), "the answer's text; NULL when the model called a tool", Task.CHAT, Task.COMPLETE),
    FINISH_REASON("finish_reason", string(), "stop, length or function_call", Task.CHAT, Task.COMPLETE),
    COMPLETION_TOKENS("completion_tokens", new IntType(), "tokens generated", Task.CHAT, Task.COMPLETE),
    PROMPT_TOKENS("prompt_tokens", new IntType(), "tokens of the prompt as the model saw it", Task.values()),
    FUNCTION_NAME("function_name", string(), "the tool the model called, else NULL", Task.CHAT),
    FUNCTION_ARGUMENTS("function_arguments", string(), "the call's arguments as generated (JSON)", Task.CHAT),
    FLAGGED("flagged", new BooleanType(), "whether any category reached its threshold", Task.MODERATE),
    CATEGORIES("categories", new ArrayType(string()), "the flagged categories, in policy order", Task.MODERATE),
    CATEGORY("category", string(), "the most probable category, the safe one included", Task.MODERATE),
    SCORES("scores", new MapType(string(), new DoubleType()), "probability per category (moderate) or label (classify)",
            Task.MODERATE, Task.CLASSIFY),
    OPENAI_SCORES("openai_scores", new MapType(string(), new DoubleType()),
            "probability per OpenAI moderation category", Task.MODERATE),
    LABEL("label", string(), "the most probable label", Task.CLASSIFY),
    SCORE("score", new DoubleType(), "the label's probability", Task.CLASSIFY),
    ERROR("error", string(), "why the row has no answer, else NULL", Task.values());

    final String columnName;
    final LogicalType type;
    final String meaning;
    private final Set<Task> tasks;

    OutputColumn(String columnName, LogicalType type, String meaning, Task... tasks) {
        this.columnName = columnName;
        this.type = type;
        this.meaning = meaning;
        this.tasks = EnumSet.copyOf(Arrays.asList(tasks));
    }

    private static LogicalType string() {
        return new VarCharType(VarCharType.MAX_LENGTH);
    }

    boolean filledBy(Task task) {
        return tasks.contains(task);
    }

    /** Whether a declared column's type holds this column's values: nullability aside, and any VARCHAR for text. */
    boolean accepts(LogicalType declared) {
        if (type.getTypeRoot() == LogicalTypeRoot.VARCHAR) {
            return declared.getTypeRoot() == LogicalTypeRoot.VARCHAR;
        }
        return declared.copy(true).equals(type.copy(true));
    }

    static String describe(Task task) {
        return Arrays.stream(values()).filter(c -> c.filledBy(task))
                .map(c -> c.columnName + " " + c.type.asSummaryString())
                .collect(Collectors.joining(", "));
    }
}
