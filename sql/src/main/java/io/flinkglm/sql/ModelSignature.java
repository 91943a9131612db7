package io.flinkglm.sql;

import io.flinkglm.sql.GlmModelOptions.Task;
import org.apache.flink.annotation.Internal;
import org.apache.flink.table.api.ValidationException;
import org.apache.flink.table.catalog.Column;
import org.apache.flink.table.catalog.ResolvedSchema;
import org.apache.flink.table.types.logical.ArrayType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * How a model's declared INPUT and OUTPUT columns map onto what its task reads and writes, checked once
 * at planning so that a mistyped or unfillable column fails {@code ML_PREDICT} with its name rather than
 * a row at run time.
 *
 * <p>Inputs, by name and type: {@code seed} (BIGINT or INT) seeds the row; for chat, {@code messages}
 * ({@code ARRAY<ROW<role STRING, content STRING>>}) and {@code tools} (STRING, a JSON array of tool
 * definitions); {@code priority} (INT, the engine's priority class, lower served sooner) and {@code tenant}
 * (STRING, who the row is served for under fair sharing), both optional and read as a prompt's; every
 * task else reads exactly one other STRING column, the text, whatever its name.
 */
@Internal
final class ModelSignature implements Serializable {
    private static final long serialVersionUID = 1L;

    final Task task;
    final int textIndex;      // -1 when chat reads messages instead
    final int messagesIndex;  // -1 when absent
    final int toolsIndex;     // -1 when absent
    final int seedIndex;      // -1 when the seed comes from the row's values
    final boolean seedIsInt;
    final int priorityIndex;  // -1 when absent: the engine's default priority
    final int tenantIndex;    // -1 when absent: the default tenant
    final int inputArity;
    final OutputColumn[] outputs; // in declared order

    private ModelSignature(Task task, int textIndex, int messagesIndex, int toolsIndex, int seedIndex,
                           boolean seedIsInt, int priorityIndex, int tenantIndex, int inputArity, OutputColumn[] outputs) {
        this.task = task;
        this.textIndex = textIndex;
        this.messagesIndex = messagesIndex;
        this.toolsIndex = toolsIndex;
        this.seedIndex = seedIndex;
        this.seedIsInt = seedIsInt;
        this.priorityIndex = priorityIndex;
        this.tenantIndex = tenantIndex;
        this.inputArity = inputArity;
        this.outputs = outputs;
    }

    int outputIndex(OutputColumn column) {
        for (int i = 0; i < outputs.length; i++) {
            if (outputs[i] == column) {
                return i;
            }
        }
        return -1;
    }

    /** @throws ValidationException naming the model, the column and what the task accepts */
    static ModelSignature of(String model, Task task, ResolvedSchema input, ResolvedSchema output) {
        String taskName = task.sqlName();
        int text = -1;
        int messages = -1;
        int tools = -1;
        int seed = -1;
        boolean seedIsInt = false;
        int priority = -1;
        int tenant = -1;
        List<Column> inputs = input.getColumns();
        for (int i = 0; i < inputs.size(); i++) {
            String name = inputs.get(i).getName();
            LogicalType type = inputs.get(i).getDataType().getLogicalType();
            if (name.equals("seed")) {
                if (type.getTypeRoot() != LogicalTypeRoot.BIGINT && type.getTypeRoot() != LogicalTypeRoot.INTEGER) {
                    throw new ValidationException("model " + model + ": input column 'seed' must be BIGINT or INT but is "
                            + type.asSummaryString());
                }
                seed = i;
                seedIsInt = type.getTypeRoot() == LogicalTypeRoot.INTEGER;
            } else if (name.equals("priority")) {
                if (type.getTypeRoot() != LogicalTypeRoot.INTEGER) {
                    throw new ValidationException("model " + model + ": input column 'priority' is read as the row's"
                            + " engine priority and must be INT but is " + type.asSummaryString());
                }
                priority = i;
            } else if (name.equals("tenant")) {
                requireString(model, name, type, "the tenant the row is served for");
                tenant = i;
            } else if (task == Task.CHAT && name.equals("messages")) {
                if (!isMessages(type)) {
                    throw new ValidationException("model " + model + ": input column 'messages' must be"
                            + " ARRAY<ROW<role STRING, content STRING>> but is " + type.asSummaryString());
                }
                messages = i;
            } else if (task == Task.CHAT && name.equals("tools")) {
                requireString(model, name, type, "a JSON array of tool definitions");
                tools = i;
            } else {
                requireString(model, name, type, "the text of task " + taskName);
                if (text >= 0) {
                    throw new ValidationException("model " + model + " (task " + taskName + ") has two text input"
                            + " columns, '" + inputs.get(text).getName() + "' and '" + name + "'; it reads one"
                            + (task == Task.CHAT ? " (or 'messages')" : "") + ", plus an optional 'seed', 'priority', 'tenant'"
                            + (task == Task.CHAT ? " and 'tools'" : ""));
                }
                text = i;
            }
        }
        if (text >= 0 && messages >= 0) {
            throw new ValidationException("model " + model + " declares both a text input ('" + inputs.get(text).getName()
                    + "') and 'messages'; a chat model reads one of them");
        }
        if (text < 0 && messages < 0) {
            throw new ValidationException("model " + model + " (task " + taskName + ") declares no text input column:"
                    + " declare one STRING column" + (task == Task.CHAT ? " or 'messages ARRAY<ROW<role STRING,"
                    + " content STRING>>'" : ""));
        }

        List<OutputColumn> outs = new ArrayList<>();
        for (Column c : output.getColumns()) {
            OutputColumn known = null;
            for (OutputColumn o : OutputColumn.values()) {
                if (o.columnName.equals(c.getName())) {
                    known = o;
                }
            }
            LogicalType type = c.getDataType().getLogicalType();
            if (known == null || !known.filledBy(task)) {
                throw new ValidationException("model " + model + " declares output column '" + c.getName()
                        + "', which task " + taskName + " cannot fill; it fills " + OutputColumn.describe(task));
            }
            if (!known.accepts(type)) {
                throw new ValidationException("model " + model + ": output column '" + c.getName() + "' must be "
                        + known.type.asSummaryString() + " but is declared " + type.asSummaryString());
            }
            outs.add(known);
        }
        return new ModelSignature(task, text, messages, tools, seed, seedIsInt, priority, tenant, inputs.size(),
                outs.toArray(new OutputColumn[0]));
    }

    private static void requireString(String model, String column, LogicalType type, String role) {
        if (type.getTypeRoot() != LogicalTypeRoot.VARCHAR) {
            throw new ValidationException("model " + model + ": input column '" + column + "' is read as " + role
                    + " and must be STRING but is " + type.asSummaryString());
        }
    }

    private static boolean isMessages(LogicalType type) {
        if (!(type instanceof ArrayType array) || !(array.getElementType() instanceof RowType row)) {
            return false;
        }
        return row.getFieldCount() == 2
                && row.getFieldNames().equals(List.of("role", "content"))
                && row.getTypeAt(0).getTypeRoot() == LogicalTypeRoot.VARCHAR
                && row.getTypeAt(1).getTypeRoot() == LogicalTypeRoot.VARCHAR;
    }
}
