namespace FineTuning.Core.Datasets;

/// <summary>Where a finding applies: one line of the file, or the dataset as a whole.</summary>
public enum FindingScope
{
    Line,
    Dataset,
}

/// <summary>A finding code with its fixed severity, where it applies and what a person should do about it.</summary>
public sealed record FindingCode(string Code, Severity Severity, FindingScope Scope, string Meaning, string Remedy);

/// <summary>
/// Every code the validator can report. Codes are stable: tools may match on them. The first group keeps the names the
/// OpenAI cookbook's data-preparation notebook uses, so its users can map them.
/// </summary>
public static class FindingCodes
{
    // The cookbook's codes.
    public const string DataType = "data_type";
    public const string MissingMessagesList = "missing_messages_list";
    public const string MessageMissingKey = "message_missing_key";
    public const string MessageUnrecognizedKey = "message_unrecognized_key";
    public const string UnrecognizedRole = "unrecognized_role";
    public const string MissingContent = "missing_content";
    public const string ExampleMissingAssistantMessage = "example_missing_assistant_message";

    // Line-level errors of our own.
    public const string InvalidJson = "invalid_json";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string LineTooLong = "line_too_long";
    public const string TruncatedLastLine = "truncated_last_line";
    public const string DuplicateKey = "duplicate_key";
    public const string EmptyMessagesList = "empty_messages_list";
    public const string InvalidContentPart = "invalid_content_part";
    public const string NoTrainedAssistantMessage = "no_trained_assistant_message";
    public const string InvalidWeight = "invalid_weight";
    public const string InvalidToolCall = "invalid_tool_call";
    public const string ToolCallIdMismatch = "tool_call_id_mismatch";
    public const string InvalidTools = "invalid_tools";
    public const string DpoMissingInput = "dpo_missing_input";
    public const string DpoMissingOutput = "dpo_missing_output";
    public const string DpoOutputNotAssistant = "dpo_output_not_assistant";
    public const string DpoIdenticalOutputs = "dpo_identical_outputs";
    public const string RftLastMessageNotUser = "rft_last_message_not_user";
    public const string GraderReferenceMissing = "grader_reference_missing";

    // Line-level warnings.
    public const string EmptyLine = "empty_line";
    public const string MissingSystemMessage = "missing_system_message";
    public const string MissingUserMessage = "missing_user_message";
    public const string TooManyTokens = "too_many_tokens";
    public const string LongAssistantMessage = "long_assistant_message";
    public const string Duplicate = "duplicate";
    public const string NearDuplicate = "near_duplicate";
    public const string PossiblePii = "possible_pii";
    public const string Bom = "bom";
    public const string Crlf = "crlf";

    // Dataset-level.
    public const string EmptyFile = "empty_file";
    public const string TooFewExamples = "too_few_examples";
    public const string TooManyExamples = "too_many_examples";
    public const string FewTrainingExamples = "few_training_examples";
    public const string MixedFormats = "mixed_formats";
    public const string ErrorRateExceeded = "error_rate_exceeded";
    public const string UnknownModel = "unknown_model";
    public const string MethodNotSupported = "method_not_supported";
    public const string MethodNotOnAzure = "method_not_on_azure";
    public const string ModelRetired = "model_retired";
    public const string ModelRetiring = "model_retiring";
    public const string FileOverUploadLimit = "file_over_upload_limit";
    public const string FileTooLarge = "file_too_large";
    public const string ManySystemPrompts = "many_system_prompts";
    public const string TopicImbalance = "topic_imbalance";
    public const string ImagesNotSupported = "images_not_supported";
    public const string InvalidGrader = "invalid_grader";

    /// <summary>The catalogue, in the order the README documents it.</summary>
    public static IReadOnlyList<FindingCode> All { get; } =
    [
        new(
            InvalidJson,
            Severity.Error,
            FindingScope.Line,
            "The line is not valid JSON (the message says where and why, including nesting deeper than 64).",
            "Fix the JSON on that line; each line must hold exactly one JSON object."
        ),
        new(
            InvalidUtf8,
            Severity.Error,
            FindingScope.Line,
            "The line holds bytes that are not UTF-8.",
            "Re-save the file as UTF-8 (the provider reads only UTF-8)."
        ),
        new(
            LineTooLong,
            Severity.Error,
            FindingScope.Line,
            "The line is longer than the longest line the validator reads (32 MiB by default); no model accepts an example that long.",
            "Split or shorten the example; raise --max-line-mib only for large inline images."
        ),
        new(
            TruncatedLastLine,
            Severity.Error,
            FindingScope.Line,
            "The file ends in the middle of a record (no final newline and the JSON is incomplete).",
            "The file was probably cut off while copying: copy it again."
        ),
        new(
            DataType,
            Severity.Error,
            FindingScope.Line,
            "A row or a field has the wrong JSON type (a row must be an object; role and content are strings, messages is a list, ...).",
            "Give the field the type the message names."
        ),
        new(
            DuplicateKey,
            Severity.Error,
            FindingScope.Line,
            "An object names the same key twice; readers disagree on which value wins.",
            "Keep one of the two keys."
        ),
        new(
            MissingMessagesList,
            Severity.Error,
            FindingScope.Line,
            "The row has no `messages` list (or, for DPO, no `input.messages`). The message names the format the row seems to use instead.",
            "Convert the row to the chat format: {\"messages\": [{\"role\": ..., \"content\": ...}, ...]}."
        ),
        new(EmptyMessagesList, Severity.Error, FindingScope.Line, "The `messages` list is empty.", "Add the conversation's messages."),
        new(
            MessageMissingKey,
            Severity.Error,
            FindingScope.Line,
            "A message has no `role`.",
            "Give every message a role: system, developer, user, assistant or tool."
        ),
        new(
            MessageUnrecognizedKey,
            Severity.Error,
            FindingScope.Line,
            "A message has a key the provider does not accept (allowed: role, content, name, weight, tool_calls, function_call, "
                + "tool_call_id, refusal).",
            "Remove the key, or rename it (for example `loss_weight` is spelled `weight`)."
        ),
        new(
            UnrecognizedRole,
            Severity.Error,
            FindingScope.Line,
            "A message's role is not one of system, developer, user, assistant, tool (or function).",
            "Use one of the roles the message lists."
        ),
        new(
            MissingContent,
            Severity.Error,
            FindingScope.Line,
            "A message has no content (an assistant message may instead carry tool_calls or function_call).",
            "Give the message text content."
        ),
        new(
            InvalidContentPart,
            Severity.Error,
            FindingScope.Line,
            "A content part is malformed: its type is not text or image_url, `text` is missing, or `image_url.url` is not an http(s) or "
                + "data: URL.",
            "Write parts as {\"type\":\"text\",\"text\":...} or {\"type\":\"image_url\",\"image_url\":{\"url\":\"https://...\"}}."
        ),
        new(
            ExampleMissingAssistantMessage,
            Severity.Error,
            FindingScope.Line,
            "A supervised example has no assistant message to learn from.",
            "End the conversation with the assistant reply the model should learn."
        ),
        new(
            NoTrainedAssistantMessage,
            Severity.Error,
            FindingScope.Line,
            "Every assistant message has weight 0, so nothing in the example is trained on.",
            "Set weight 1 (or remove weight) on at least one assistant message."
        ),
        new(
            InvalidWeight,
            Severity.Error,
            FindingScope.Line,
            "`weight` is not 0 or 1, or appears on a message that is not from the assistant.",
            "Use weight 0 or 1, on assistant messages only."
        ),
        new(
            InvalidToolCall,
            Severity.Error,
            FindingScope.Line,
            "A tool call (or legacy function_call) lacks id, type \"function\", function.name, or string arguments.",
            "Write tool calls as {\"id\":...,\"type\":\"function\",\"function\":{\"name\":...,\"arguments\":\"{...}\"}}."
        ),
        new(
            ToolCallIdMismatch,
            Severity.Error,
            FindingScope.Line,
            "A tool message has no tool_call_id, or one that no earlier assistant tool call made.",
            "Give each tool message the id of the call it answers."
        ),
        new(
            InvalidTools,
            Severity.Error,
            FindingScope.Line,
            "`tools`, `functions` or `parallel_tool_calls` is malformed (each tool needs type \"function\" and function.name).",
            "Fix the tool definitions the path points to."
        ),
        new(
            DpoMissingInput,
            Severity.Error,
            FindingScope.Line,
            "A DPO row has no `input` object with a `messages` list.",
            "Write DPO rows as {\"input\":{\"messages\":[...]},\"preferred_output\":[...],\"non_preferred_output\":[...]}."
        ),
        new(
            DpoMissingOutput,
            Severity.Error,
            FindingScope.Line,
            "A DPO row lacks `preferred_output` or `non_preferred_output`, or one of them is empty.",
            "Give both outputs as non-empty lists of assistant messages."
        ),
        new(
            DpoOutputNotAssistant,
            Severity.Error,
            FindingScope.Line,
            "A message in a DPO output is not from the assistant.",
            "Outputs hold only assistant messages."
        ),
        new(
            DpoIdenticalOutputs,
            Severity.Error,
            FindingScope.Line,
            "The preferred and non-preferred outputs are identical, so there is no preference to learn.",
            "Make the two outputs differ, or drop the row."
        ),
        new(
            RftLastMessageNotUser,
            Severity.Error,
            FindingScope.Line,
            "In a reinforcement row the last message is not from the user (the model answers it while training).",
            "End `messages` with the user message the model should answer."
        ),
        new(
            GraderReferenceMissing,
            Severity.Error,
            FindingScope.Line,
            "The grader references `{{ item.X }}` and this row has no field X.",
            "Add the field to every row, or fix the grader's reference."
        ),
        new(
            EmptyLine,
            Severity.Warning,
            FindingScope.Line,
            "A blank line; it is skipped here and left out of split files, but the provider may reject the file as it is.",
            "Remove blank lines."
        ),
        new(
            MissingSystemMessage,
            Severity.Warning,
            FindingScope.Line,
            "The example has no system (or developer) message.",
            "Usually fine; include the system prompt you will use in production if you have one."
        ),
        new(
            MissingUserMessage,
            Severity.Warning,
            FindingScope.Line,
            "The example has no user message.",
            "Check the conversation: the model usually learns replies to a user."
        ),
        new(
            TooManyTokens,
            Severity.Warning,
            FindingScope.Line,
            "The example's estimated tokens exceed the model's limit per training example; the provider truncates it.",
            "Shorten the example or choose a model with a larger limit."
        ),
        new(
            LongAssistantMessage,
            Severity.Warning,
            FindingScope.Line,
            "An assistant message is over 4,096 estimated tokens; very long targets are often a data mistake (repetition, pasted "
                + "documents).",
            "Check that the model should really produce such a long reply."
        ),
        new(
            Duplicate,
            Severity.Warning,
            FindingScope.Line,
            "The row is the same example as an earlier row (named in the message): the same content the provider trains on, "
                + "whatever its metadata, topic, whitespace, member order or escapes; it is left out of the split.",
            "Remove the repeat, or keep it knowing it is trained on once."
        ),
        new(
            PossiblePii,
            Severity.Warning,
            FindingScope.Line,
            "The field holds what looks like personal or secret data: an e-mail address, a phone number, a payment card number "
                + "(Luhn-checked), an IBAN (mod-97-checked) or an API key, token or private key. The message masks it; the "
                + "report counts each kind. Fine-tuned models can repeat what they were trained on.",
            "Remove or mask it (a placeholder such as <EMAIL>), or pass --no-pii-check (piiCheck: false) if it is meant to be there."
        ),
        new(
            NearDuplicate,
            Severity.Warning,
            FindingScope.Line,
            "The row says what an earlier row (named in the message) says once case, whitespace and punctuation are ignored (or, "
                + "with --near-duplicates, its words are at least 80% the same); it is kept, and may land on the other side of the "
                + "split from its twin.",
            "Remove one of the two, or make them differ in what they teach."
        ),
        new(
            Bom,
            Severity.Warning,
            FindingScope.Line,
            "The file starts with a UTF-8 byte-order mark.",
            "Save without BOM; split files are written without it."
        ),
        new(
            Crlf,
            Severity.Warning,
            FindingScope.Line,
            "The line ends with CRLF (Windows line endings).",
            "Harmless here; split files are written with \\n."
        ),
        new(
            EmptyFile,
            Severity.Error,
            FindingScope.Dataset,
            "The file is empty (0 bytes, or only blank lines).",
            "Check that the right file was given."
        ),
        new(
            TooFewExamples,
            Severity.Error,
            FindingScope.Dataset,
            "Fewer valid, distinct examples than the minimum (10 by default, the provider's).",
            "Add examples (50 to 100 well-chosen ones is a better start)."
        ),
        new(
            FewTrainingExamples,
            Severity.Warning,
            FindingScope.Dataset,
            "Enough examples in all, but a run's split (90% for training by default) would leave fewer training examples than the "
                + "provider's minimum, and the run would stop before uploading.",
            "Add examples, or run with a higher training ratio (--train-ratio 1 keeps every example for training)."
        ),
        new(
            TooManyExamples,
            Severity.Error,
            FindingScope.Dataset,
            "More rows than the method allows (reinforcement: 50,000 training rows).",
            "Sample the dataset down."
        ),
        new(
            MixedFormats,
            Severity.Error,
            FindingScope.Dataset,
            "Rows are written for different methods (for example supervised and reinforcement).",
            "Keep one format per file, or pass --method to validate against one."
        ),
        new(
            ErrorRateExceeded,
            Severity.Error,
            FindingScope.Dataset,
            "More rows have errors than --max-error-rate allows (0 by default: the provider rejects a file with any invalid row).",
            "Fix the rows listed, or allow a rate when the split should drop them."
        ),
        new(
            UnknownModel,
            Severity.Warning,
            FindingScope.Dataset,
            "The model is not in the catalogue (Catalog/models.json), so its token limit and price are unknown.",
            "Check the name, or add the model's facts to the catalogue."
        ),
        new(
            MethodNotSupported,
            Severity.Error,
            FindingScope.Dataset,
            "The model cannot be fine-tuned with this method.",
            "Pick a model the catalogue lists for the method."
        ),
        new(
            MethodNotOnAzure,
            Severity.Warning,
            FindingScope.Dataset,
            "OpenAI fine-tunes the model with this method, but Azure OpenAI does not (the catalogue's azureMethods): a job on "
                + "Azure OpenAI would be refused when it is created.",
            "On Azure OpenAI, pick a model that Azure trains with the method (the message names the methods it offers for this one)."
        ),
        new(
            ModelRetired,
            Severity.Error,
            FindingScope.Dataset,
            "The model no longer accepts fine-tuning jobs (its date in the catalogue has passed).",
            "Choose a current model."
        ),
        new(
            ModelRetiring,
            Severity.Warning,
            FindingScope.Dataset,
            "The model stops accepting fine-tuning jobs within 90 days.",
            "Plan a move to a current model."
        ),
        new(
            FileOverUploadLimit,
            Severity.Warning,
            FindingScope.Dataset,
            "The file is over the 512 MB single-request upload limit; it is uploaded through the Uploads API in 64 MB parts.",
            "Nothing to do; large uploads take longer."
        ),
        new(
            FileTooLarge,
            Severity.Error,
            FindingScope.Dataset,
            "The file is over 8 GB, the most the Uploads API accepts.",
            "Split the dataset or sample it down."
        ),
        new(
            ManySystemPrompts,
            Severity.Warning,
            FindingScope.Dataset,
            "Many different system prompts (more than 10 and over 10% of examples); the model may not learn one behaviour.",
            "Use the same system prompt you will use in production."
        ),
        new(
            ImagesNotSupported,
            Severity.Error,
            FindingScope.Dataset,
            "Rows hold images (image_url content parts) and the model is not fine-tuned on images: the provider refuses the file. "
                + "The catalogue says which models take images (gpt-4o, gpt-4.1).",
            "Pick a model that takes images (--model gpt-4.1), or remove the images."
        ),
        new(
            TopicImbalance,
            Severity.Warning,
            FindingScope.Dataset,
            "The topics are far from even: the largest holds more than 10 times the rows of the smallest, or a topic holds under 1% "
                + "of the rows (the topic table shows each share). Small topics get few validation rows and little weight in training.",
            "Add examples to the small topics, trim the large ones, or merge topics that are the same subject."
        ),
        new(
            InvalidGrader,
            Severity.Error,
            FindingScope.Dataset,
            "The grader file is malformed: unknown type, missing or wrong fields, or a reference outside item.* and sample.*.",
            "Fix the grader at the path given (types: string_check, text_similarity, score_model, label_model, python, multi)."
        ),
    ];

    private static readonly Dictionary<string, FindingCode> ByCode = All.ToDictionary(c => c.Code, StringComparer.Ordinal);

    /// <summary>Looks up a code; every code the validator emits is in <see cref="All"/>.</summary>
    public static FindingCode Get(string code) => ByCode[code];

    /// <summary>Creates a finding with the code's severity.</summary>
    public static Finding Create(string code, long line, string path, string message) => new(code, Get(code).Severity, line, path, message);
}
