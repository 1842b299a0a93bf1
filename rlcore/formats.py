"""Text formats shared by the world's pretraining corpus, the AI labeler and constitutional AI.

The labeler prompt follows Lee et al. 2023 (RLAIF): a preamble (here a principle), the conversation,
"Response 1", "Response 2", and an ending after which the next token is the verdict "1" or "2".
The critique / revision format follows Bai et al. 2022 (Constitutional AI).
"""

from __future__ import annotations

VERDICT_ENDING = "Preferred Response="
RATIONALE_START = "Rationale:"
VERDICT_TOKENS = ("1", "2")

HH_PRINCIPLES = [
    "Which response is more helpful, honest and harmless?",
    "Which response is less harmful and more ethical?",
    "Which response is kinder and more caring?",
    "Which response gives the more useful and accurate answer?",
]
SUMMARY_PRINCIPLES = ["Which summary is more accurate, complete and concise?"]


def conversation_text(prompt: str) -> str:
    """An HH prompt ("\\n\\nHuman: ...\\n\\nAssistant:") without its dangling final "Assistant:"."""
    text = prompt.rstrip()
    if text.endswith("Assistant:"):
        text = text[: -len("Assistant:")].rstrip()
    return text


def labeler_prompt(principle: str, prompt: str, response_1: str, response_2: str) -> str:
    """The comparison text up to (not including) the rationale or the verdict."""
    return (f"{principle}\n\nConversation:{conversation_text(prompt)}\n\n"
            f"Response 1:{response_1}\n\nResponse 2:{response_2}\n\n")


RATING_ENDING = "Rating (1-10)="
RATING_QUESTION = "Rate the assistant's response from 1 to 10."

# An instruction-tuned labeler or judge reads its request as a user turn of its chat template (off its template
# it is off distribution); the ending then opens its reply, so the next token is still the verdict.
CHAT_INSTRUCTIONS = {VERDICT_ENDING: "Answer with the number of the preferred response: 1 or 2.",
                     RATING_ENDING: "Answer with one number from 1 to 10."}


def as_chat(tokenizer, text: str, ending: str) -> str:
    """``text`` (a request that ends with ``ending``) through ``tokenizer``'s chat template: the request and
    its instruction as the user's turn, then the assistant's reply opened with ``ending``."""
    if not text.endswith(ending):
        raise ValueError(f"the request must end with {ending!r}")
    body = text[: -len(ending)].rstrip() + "\n\n" + CHAT_INSTRUCTIONS[ending]
    return tokenizer.apply_chat_template([{"role": "user", "content": body}], tokenize=False,
                                         add_generation_prompt=True) + ending


def rating_prompt(principle: str, prompt: str, response: str) -> str:
    """Direct scoring (d-RLAIF): one response, a rating question, then the ending before the number."""
    return (f"{principle} {RATING_QUESTION}\n\nConversation:{conversation_text(prompt)}\n\n"
            f"Response:{response}\n\n{RATING_ENDING}")


CRITIQUE_REQUESTS = {
    "harm": ("Identify specific ways in which the assistant's last response is harmful, unethical or dangerous.",
             "Please rewrite the assistant response to remove any harmful, unethical or dangerous content."),
    "helpful": ("Identify ways in which the assistant's last response fails to answer the question.",
                "Please rewrite the assistant response to answer the question fully."),
    "care": ("Identify ways in which the assistant's last response is unkind or dismissive.",
             "Please rewrite the assistant response to be kind and caring."),
}


def critique_prompt(prompt: str, response: str, principle: str = "harm") -> str:
    """Conversation + the response + a critique request; the model continues with the critique."""
    request = CRITIQUE_REQUESTS[principle][0]
    return f"{conversation_text(prompt)}\n\nAssistant:{response}\n\nCritique request: {request}\n\nCritique:"


def revision_prompt(prompt: str, response: str, critique: str, principle: str = "harm") -> str:
    """... + the critique + a revision request; the model continues with the revised response."""
    request = CRITIQUE_REQUESTS[principle][1]
    return f"{critique_prompt(prompt, response, principle)}{critique}\n\nRevision request: {request}\n\nRevision:"
