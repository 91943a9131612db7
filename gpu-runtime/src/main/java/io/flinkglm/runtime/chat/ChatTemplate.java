package io.flinkglm.runtime.chat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flinkglm.runtime.tokenizer.Glm4Tokenizer;
import org.apache.flink.annotation.PublicEvolving;
import java.util.List;

/**
 * GLM-4's chat template (chat_template.jinja of glm-4-9b-chat), written out by hand: the output is
 * byte-for-byte what transformers renders with {@code trim_blocks} and {@code lstrip_blocks}.
 *
 * <pre>
 * [gMASK]&lt;sop&gt;                                     once
 * &lt;|system|&gt;\n{preamble}# 可用工具{tool sections}     for a message carrying tools
 * &lt;|{role}|&gt;{metadata}\n{content}                    for a message with non-empty content
 * &lt;|assistant|&gt;                                      the generation prompt
 * </pre>
 *
 * <p>Message text (content, metadata, tool definitions) is marked as plain text in the
 * {@link RenderedPrompt}, so {@link #encode} never turns a {@code <|assistant|>} typed by a user into
 * the special token; the reference tokenizes the whole string and would.
 *
 * <pre>{@code
 * int[] ids = ChatTemplate.encode(tokenizer, List.of(ChatMessage.user("你好")), true);
 * // [gMASK] <sop> <|user|> \n 你好 <|assistant|>
 * }</pre>
 */
@PublicEvolving
public final class ChatTemplate {
    private static final String PREFIX = "[gMASK]<sop>";
    private static final String GENERATION_PROMPT = "<|assistant|>";
    private static final String FUNCTION_SECTION_START = "\n## ";
    // The fixed texts below are copied from chat_template.jinja with trim_blocks applied (the
    // newline right after each {% ... %} tag dropped). Changing a character changes every prompt.
    private static final String TOOLS_PREAMBLE =
            "<|system|>\n"
            + "你是一个名为 ChatGLM 的人工智能助手。你是基于智谱AI训练的语言模型 GLM-4 模型开发的，你的任务是针对用户的问题和要求提供适当的答复和支持。\n"
            + "\n"
            + "# 可用工具";
    private static final String FUNCTION_SECTION_END =
            "\n"
            + "在调用上述函数时，请使用 Json 格式表示调用的参数。";
    private static final String PYTHON_SECTION =
            "\n"
            + "## python\n"
            + "\n"
            + "当你向 `python` 发送包含 Python 代码的消息时，该代码将会在一个有状态的 Jupyter notebook 环境中执行。\n"
            + "`python` 返回代码执行的输出，或在执行 60 秒后返回超时。\n"
            + "`/mnt/data` 将会持久化存储你的文件。在此会话中，`python` 无法访问互联网。不要使用 `python` 进行任何网络请求或者在线 API 调用，这些在线内容的访问将不会成功。";
    private static final String SIMPLE_BROWSER_SECTION =
            "\n"
            + "## simple_browser\n"
            + "\n"
            + "你可以使用 `simple_browser` 工具。该工具支持以下函数：\n"
            + "`search(query: str, recency_days: int)`：使用搜索引擎进行查询并显示结果，可以使用 `recency_days` 参数控制搜索内容的时效性。\n"
            + "`mclick(ids: list[int])`：获取一系列指定 id 的页面内容。每次调用时，须选择3-10个页面。选择多个角度的页面，同时尽可能选择可信任的信息来源。考虑到部分页面是无法加载的，你也可以多打开一些可能有用的页面而不用担心内容过多。\n"
            + "`open_url(url: str)`：打开指定的 URL。\n"
            + "\n"
            + "使用 `【{引用 id}†{引用文本}】` 来引用内容。\n"
            + "\n"
            + "操作步骤：1. 使用 `search` 来获得信息列表; 2. 使用 `mclick` 来获取指定 ID 页面的内容; 3. 根据获得的内容进行回复。在回复中应当引用信息来源。\n"
            + " 如果用户提供了 URL，也可以用 `open_url` 直接打开页面。\n"
            + "如果初次搜索结果没有找到合适的信息，也可以再次使用 `search` 进行搜索。";
    private static final String COGVIEW_SECTION =
            "\n"
            + "## cogview\n"
            + "\n"
            + "如果用户的请求中包含了对图像的描述，你可以使用 `cogview` 来生成图像并展示给用户。你需要向 `cogview` 发送图像描述，规则：\n"
            + "- 发送给 `cogview` 的消息必须使用英语。用户的中文描述必须完全翻译为英语。\n"
            + "- 应当尽可能详细地描述图像生成的需求，需求描述约 100 英文单词。\n"
            + "- 保持用户原始描述的意图。不要虚构内容或者没见过的人物。\n"
            + "- 如无特殊说明，所在地为中国，持有中国立场并遵循中国社会主义价值观。";

    private ChatTemplate() {}

    /** The prompt text, as {@code tokenizer.apply_chat_template(messages, tokenize=False)} returns it. */
    public static String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderPrompt(messages, addGenerationPrompt).text();
    }

    /** The prompt text together with which of its characters came from messages. */
    public static RenderedPrompt renderPrompt(List<ChatMessage> messages, boolean addGenerationPrompt) {
        RenderedPrompt.Builder prompt = new RenderedPrompt.Builder();
        prompt.template(PREFIX);
        for (ChatMessage message : messages) {
            if (message.tools() != null) {
                renderTools(message.tools(), prompt);
            }
            if (message.hasContent()) {
                prompt.template("<|" + message.role().wireName() + "|>");
                if (message.metadata() != null) { // Jinja renders an undefined metadata as ""
                    prompt.plain(message.metadata());
                }
                prompt.template("\n");
                prompt.plain(message.content());
            }
        }
        if (addGenerationPrompt) {
            prompt.template(GENERATION_PROMPT);
        }
        return prompt.build();
    }

    /** The prompt's token ids: special tokens from the template, message text always as ordinary text. */
    public static int[] encode(Glm4Tokenizer tokenizer, List<ChatMessage> messages, boolean addGenerationPrompt) {
        return renderPrompt(messages, addGenerationPrompt).encode(tokenizer);
    }

    private static void renderTools(List<JsonNode> tools, RenderedPrompt.Builder prompt) {
        prompt.template(TOOLS_PREAMBLE);
        for (JsonNode tool : tools) {
            switch (tool.path("type").asText()) {
                case "function" -> {
                    JsonNode function = tool.get("function");
                    prompt.template(FUNCTION_SECTION_START);
                    prompt.plain(function.get("name").asText());
                    prompt.template("\n\n");
                    prompt.plain(PythonJson.dumpsIndented(function));
                    prompt.template(FUNCTION_SECTION_END);
                }
                case "python" -> prompt.template(PYTHON_SECTION);
                case "simple_browser" -> prompt.template(SIMPLE_BROWSER_SECTION);
                case "cogview" -> prompt.template(COGVIEW_SECTION);
                default -> { } // the template renders nothing for other tool types
            }
        }
    }
}
