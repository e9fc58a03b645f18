"""The request to an LLM judge that reads a reply the rules could not."""

from __future__ import annotations

from collections.abc import Sequence

from spinebench.extract._vocabulary import LETTERS


def judge_prompt(question: str, options: Sequence[str], response: str, *, multiple: bool) -> str:
    """The request to an LLM judge: which option(s) the response commits to, as one final line."""
    letters = LETTERS[: len(options)]
    listed = "\n".join(f"{letter}. {text}" for letter, text in zip(letters, options, strict=False))
    span = f"{letters[0]} to {letters[-1]}" if letters else "none"
    if multiple:
        answer_line, none_line = "My final options: [X, Y]", "My final options: [NONE]"
        count_rule = (
            "Several options may be correct: give every option the response commits to in its conclusion, "
            "separated by commas."
        )
    else:
        answer_line, none_line = "My final option: [X]", "My final option: [NONE]"
        count_rule = (
            "Exactly one option is correct: if the response commits to more than one option, "
            "it commits to none."
        )
    return (
        "You are reading another model's answer to a multiple-choice question about a spine image. "
        "Do not answer the question yourself and do not judge whether the answer is right: only report "
        "which option(s) the response commits to as its final answer.\n\n"
        f"Question:\n{question}\n\nOptions:\n{listed}\n\n"
        f"Response:\n<<<RESPONSE\n{response}\nRESPONSE>>>\n\n"
        "Rules:\n"
        "- Use the response's final conclusion; ignore options it only discusses or rules out on the way.\n"
        "- The response may name an option by its letter or by its text.\n"
        f"- {count_rule}\n"
        "- If the response refuses, hedges between options, gives no answer, or names something that is "
        "not among the options, it commits to none.\n\n"
        f"Reply with one line only, exactly `{answer_line}` with letters from {span}, "
        f"or `{none_line}` when the response commits to no option."
    )
