#!/usr/bin/env python3
"""The OpenAI cookbook's chat fine-tuning format checks ("Chat_finetuning_data_prep"), written for this project as the
baseline that `finetune validate` is measured against. One pass, json.loads per line, the same error counters."""
import json
import sys
from collections import defaultdict


def main(path):
    format_errors = defaultdict(int)
    n = 0
    with open(path, "r", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            n += 1
            try:
                ex = json.loads(line)
            except json.JSONDecodeError:
                format_errors["invalid_json"] += 1
                continue
            if not isinstance(ex, dict):
                format_errors["data_type"] += 1
                continue
            messages = ex.get("messages", None)
            if not messages:
                format_errors["missing_messages_list"] += 1
                continue
            for message in messages:
                if "role" not in message or "content" not in message and "tool_calls" not in message:
                    format_errors["message_missing_key"] += 1
                if any(k not in ("role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id") for k in message):
                    format_errors["message_unrecognized_key"] += 1
                if message.get("role", None) not in ("system", "user", "assistant", "function", "tool"):
                    format_errors["unrecognized_role"] += 1
                content = message.get("content", None)
                function_call = message.get("function_call", None) or message.get("tool_calls", None)
                if (not content and not function_call) or (content is not None and not isinstance(content, str)):
                    format_errors["missing_content"] += 1
            if not any(message.get("role", None) == "assistant" for message in messages):
                format_errors["example_missing_assistant_message"] += 1
    print(json.dumps({"examples": n, "errors": dict(format_errors)}))


if __name__ == "__main__":
    main(sys.argv[1])
