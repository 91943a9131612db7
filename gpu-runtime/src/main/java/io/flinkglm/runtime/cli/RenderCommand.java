package io.flinkglm.runtime.cli;

import io.flinkglm.runtime.chat.ChatTemplate;
import io.flinkglm.runtime.chat.Conversation;

/** {@code render}: a JSON array of messages on stdin to the exact prompt text, nothing appended. */
final class RenderCommand implements Command {
    @Override
    public String usage() {
        return "render --model DIR [--no-generation-prompt]   (JSON messages on stdin)";
    }

    @Override
    public Object run(Args args) throws Exception {
        args.path("model"); // the GLM-4 format is fixed; the model is named for symmetry with the other commands
        boolean generationPrompt = !args.flag("no-generation-prompt");
        args.rejectUnused();
        Conversation conversation = Conversation.fromJson(args.stdinText());
        return ChatTemplate.render(conversation.messages(), generationPrompt);
    }
}
