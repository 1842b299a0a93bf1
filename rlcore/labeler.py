"""The AI labeler of RLAIF (Lee et al. 2023): an off-the-shelf causal LM, prompted with a principle,
says which of two responses is better.

The soft label is read from the model's next-token distribution after the ending
``"Preferred Response="``: P(1 better) = softmax(log p("1"), log p("2"))[0].
Position bias — preferring whichever response comes first — is removed by scoring both orders and
averaging: p = (P(a first is better) + 1 - P(b first is better)) / 2.
"""

from __future__ import annotations

import random
import warnings

import torch
import torch.nn.functional as F

from rlcore import formats
from rlcore.data import check_model_tokenizer
from rlcore.phases import timed
from rlcore.precision import finite_or_again
from rlcore.progress import progress_bar
from rlcore.rollout import forward_logits, generate, left_padding, require_pad_token


def verdict_token_ids(tokenizer, tokens=formats.VERDICT_TOKENS) -> tuple[int, ...]:
    """The ids of the verdict tokens ("1", "2" by default); a clear error if one is not a single token."""
    ids = []
    for t in tokens:
        enc = tokenizer(t, add_special_tokens=False)["input_ids"]
        if len(enc) != 1:
            raise ValueError(f"verdict token {t!r} is {len(enc)} tokens in this tokenizer ({enc}); the labeler needs "
                             f"{list(tokens)} to be single tokens")
        ids.append(enc[0])
    return tuple(ids)


@timed("scoring")
@torch.no_grad()
def next_token_logprobs(model, tokenizer, texts: list[str], batch_size: int = 16,
                        max_length: int | None = None) -> torch.Tensor:
    """log p(next token) after each text: (N, V). Texts are left-padded so the next token is always
    read at the last position; a text longer than ``max_length`` loses tokens from its left."""
    require_pad_token(tokenizer)
    device = next(model.parameters()).device
    max_length = max_length or getattr(model.config, "max_position_embeddings", 2048)
    # Texts of similar length share a batch (less padding to compute); the rows come back in the given order.
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    out = []
    with left_padding(tokenizer):
        for i in progress_bar(range(0, len(texts), batch_size), desc="verdicts"):
            enc = tokenizer([texts[k] for k in order[i:i + batch_size]], return_tensors="pt", padding=True,
                            truncation=True, max_length=max_length, add_special_tokens=False).to(device)
            # the last position only (logits_to_keep=1): a verdict needs one row of V logits, not T of them;
            # under float16, a batch that overflows is run again in float32 (rlcore.precision)
            logits = finite_or_again(model, lambda: forward_logits(model, enc["input_ids"], enc["attention_mask"],
                                                                   logits_to_keep=1)[:, -1].float())  # (B, V)
            out.append(F.log_softmax(logits, dim=-1).cpu())
    rows = torch.cat(out)  # (N, V), sorted by length
    logp = torch.empty_like(rows)
    logp[order] = rows
    return logp


def verdict_probabilities(model, tokenizer, texts: list[str], batch_size: int = 16,
                          max_length: int | None = None) -> torch.Tensor:
    """P(verdict "1") for each labeler text that ends just before the verdict token. (N,)

    The soft label is the softmax over the two verdict tokens' log-probs (Lee et al. 2023):
    P(1) = exp(l1) / (exp(l1) + exp(l2)). Every other token's probability is ignored.
    """
    one, two = verdict_token_ids(tokenizer)
    logp = next_token_logprobs(model, tokenizer, texts, batch_size, max_length)  # (N, V)
    pair = torch.stack([logp[:, one], logp[:, two]], dim=1)  # (N, 2)
    return torch.softmax(pair, dim=1)[:, 0]


def comparison_text(principle: str, prompt: str, first: str, second: str) -> str:
    """The labeler prompt ending right before the verdict."""
    return formats.labeler_prompt(principle, prompt, first, second) + formats.VERDICT_ENDING


# --------------------------------------------------------------------------- the labeler
DEFAULT_CONSTITUTION = tuple(formats.HH_PRINCIPLES)


def check_constitution(constitution) -> tuple[str, ...]:
    """A constitution is a non-empty list of non-empty principle strings."""
    if isinstance(constitution, str):
        constitution = [constitution]
    constitution = tuple(constitution or ())
    if not constitution:
        raise ValueError("the constitution is empty: give at least one principle, e.g. rlcore.labeler.DEFAULT_CONSTITUTION")
    for i, p in enumerate(constitution):
        if not isinstance(p, str) or not p.strip():
            raise ValueError(f"principle {i} of the constitution must be a non-empty string, got {p!r}")
    return constitution


def clamp_label(p: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp soft labels into [low, high] (Bai et al. 2022 clamp CoT labels to 40-60%)."""
    if not 0.0 <= low <= 0.5 <= high <= 1.0:
        raise ValueError(f"clamp range must satisfy 0 <= low <= 0.5 <= high <= 1, got ({low}, {high})")
    return p.clamp(low, high)


class AILabeler:
    """An off-the-shelf causal LM used as a preference labeler (RLAIF, Lee et al. 2023).

    Args:
        model, tokenizer: any Hugging Face causal LM (the shipped "tiny-labeler", or a hub model).
        constitution: principles; one is sampled per comparison (``principle_mode="sample"``, as in
            Constitutional AI) or all are joined into one preamble (``"all"``).
        swap: score both orders and average, which cancels position bias.
        chain_of_thought: first generate a rationale greedily after "Rationale:", then read the verdict.
        self_consistency: with CoT, sample this many rationales at ``temperature`` and average the labels.
        clamp: optional (low, high) range for the final soft labels, e.g. (0.4, 0.6).
        exemplars: few-shot examples, (prompt, response_1, response_2, verdict "1"/"2") tuples.
        chat: put each request through the tokenizer's chat template (an instruction-tuned model); None (the
            default): whenever the tokenizer has one.
    """

    def __init__(self, model, tokenizer, constitution=DEFAULT_CONSTITUTION, principle_mode: str = "sample",
                 swap: bool = True, chain_of_thought: bool = False, self_consistency: int = 1,
                 temperature: float = 1.0, clamp: tuple[float, float] | None = None, exemplars=(),
                 max_rationale_tokens: int = 24, batch_size: int = 16, seed: int = 0, chat: bool | None = None):
        self.constitution = check_constitution(constitution)
        if principle_mode not in ("sample", "all"):
            raise ValueError(f"principle_mode must be 'sample' or 'all', got {principle_mode!r}")
        if self_consistency < 1:
            raise ValueError(f"self_consistency must be >= 1, got {self_consistency}")
        if self_consistency > 1 and not chain_of_thought:
            raise ValueError("self_consistency samples rationales: it needs chain_of_thought=True")
        require_pad_token(tokenizer)
        self.verdict_ids = verdict_token_ids(tokenizer)  # fails early, naming the tokens
        check_model_tokenizer(model, tokenizer)  # another model's tokenizer fails here, not mid-labeling
        if clamp is not None:
            clamp_label(torch.tensor([0.5]), *clamp)  # validates the range
        self.model, self.tokenizer = model, tokenizer
        self.principle_mode, self.swap, self.chain_of_thought = principle_mode, swap, chain_of_thought
        self.self_consistency, self.temperature, self.clamp = self_consistency, temperature, clamp
        self.max_rationale_tokens, self.batch_size, self.seed = max_rationale_tokens, batch_size, seed
        self.exemplar_text = "".join(
            comparison_text(self.constitution[0], p, r1, r2) + f"{v}{tokenizer.eos_token}" for p, r1, r2, v in exemplars)
        self.max_length = getattr(model.config, "max_position_embeddings", 2048)
        # An instruction-tuned model is asked through its chat template (chat=None: whenever it has one).
        has_template = bool(getattr(tokenizer, "chat_template", None))
        if chat and not has_template:
            raise ValueError("chat=True, but the labeler's tokenizer has no chat template")
        self.chat = has_template if chat is None else chat
        self.cut = 0  # comparisons whose responses were cut to fit the context (see _fit)
        self._warned: set[str] = set()

    # -- prompts ------------------------------------------------------------------------------
    def principles_for(self, n: int, offset: int = 0) -> list[str]:
        if self.principle_mode == "all":
            return [" ".join(self.constitution)] * n
        rng = random.Random(f"{self.seed}-{offset}")
        return [rng.choice(self.constitution) for _ in range(n)]

    def _n_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _request(self, text: str, ending: str) -> str:
        """The text as the model reads it: through its chat template if it has one (and ``chat`` allows)."""
        return formats.as_chat(self.tokenizer, text, ending) if self.chat else text

    def _fit(self, make, prompt: str, responses: tuple[str, ...], reserve: int = 0) -> str:
        """``make(prompt, *responses)`` fitted to the context (less ``reserve`` tokens): the conversation loses
        its *oldest* tokens first; if the responses alone do not fit, the conversation keeps at most a quarter
        of the context (its last tokens) and each response its first tokens (an equal share): the comparison is then counted in
        ``self.cut`` (a labeler never stops a run over one long pair). Warns once for each kind of cut."""
        budget = self.max_length - reserve
        text = make(prompt, *responses)
        excess = self._n_tokens(text) - budget
        if excess <= 0:
            return text
        ids = self.tokenizer(formats.conversation_text(prompt), add_special_tokens=False)["input_ids"]
        if excess + 2 < len(ids):  # +2: decoding and re-encoding can shift a token
            if "conversation" not in self._warned:
                warnings.warn(f"a labeler prompt is longer than the context ({self.max_length} tokens); cutting the "
                              "oldest turns of the conversation", stacklevel=3)
                self._warned.add("conversation")
            return make(self.tokenizer.decode(ids[excess + 2:]), *responses)
        kept = self.tokenizer.decode(ids[len(ids) - min(len(ids), budget // 4):])
        share = (budget - self._n_tokens(make(kept, *[""] * len(responses)))) // len(responses) - 2
        if share < 1:
            raise ValueError(f"the labeler's context ({self.max_length} tokens) cannot hold its own instructions; "
                             "use a model with a longer context")
        cut = [self.tokenizer.decode(self.tokenizer(r, add_special_tokens=False)["input_ids"][:share]) for r in responses]
        self.cut += 1
        if "responses" not in self._warned:
            warnings.warn(f"responses longer than the labeler's context ({self.max_length} tokens): each keeps its first "
                          f"{share} tokens (counted in .cut)", stacklevel=3)
            self._warned.add("responses")
        return make(kept, *cut)

    def build_text(self, principle: str, prompt: str, first: str, second: str, reserve: int = 0) -> str:
        """Exemplars + comparison text (through the chat template if the model has one), fitted to the context
        (:meth:`_fit`)."""
        def make(p, a, b):
            return self._request(self.exemplar_text + comparison_text(principle, p, a, b), formats.VERDICT_ENDING)

        return self._fit(make, prompt, (first, second), reserve)

    def rating_text(self, principle: str, prompt: str, response: str) -> str:
        """The direct-rating request (d-RLAIF), fitted to the context as :meth:`build_text`."""
        def make(p, r):
            return self._request(formats.rating_prompt(principle, p, r), formats.RATING_ENDING)

        return self._fit(make, prompt, (response,))

    # -- one order ----------------------------------------------------------------------------
    def _p_first(self, principles, prompts, firsts, seconds, offset: int) -> torch.Tensor:
        """P(first shown is better) (N,), with or without a rationale first."""
        reserve = self.max_rationale_tokens + 8 if self.chain_of_thought else 0
        texts, cut = [], []
        for pr, p, a, b in zip(principles, prompts, firsts, seconds):
            before = self.cut
            texts.append(self.build_text(pr, p, a, b, reserve))
            cut.append(self.cut > before)
        self.last_cut = torch.tensor(cut)  # (N,) bool: this row's responses were cut to fit the context
        if not self.chain_of_thought:
            return verdict_probabilities(self.model, self.tokenizer, texts, self.batch_size, self.max_length)
        heads = [t[: -len(formats.VERDICT_ENDING)] + formats.RATIONALE_START for t in texts]
        samples = []
        for k in range(self.self_consistency):
            sampled = self.self_consistency > 1
            rationales = []
            for i in range(0, len(heads), self.batch_size):
                out = generate(self.model, self.tokenizer, heads[i:i + self.batch_size],
                               max_new_tokens=self.max_rationale_tokens, do_sample=sampled,
                               temperature=self.temperature, max_prompt_tokens=self.max_length,
                               seed=self.seed * 1000 + offset + k * 7919 + i)
                rationales += [r.split("\n")[0] for r in out.responses]
            full = [h + r + "\n" + formats.VERDICT_ENDING for h, r in zip(heads, rationales)]
            samples.append(verdict_probabilities(self.model, self.tokenizer, full, self.batch_size, self.max_length))
            self.last_rationales = rationales
        return torch.stack(samples).mean(0)

    # -- public ---------------------------------------------------------------------------------
    def prefer_batch(self, prompts: list[str], responses_a: list[str], responses_b: list[str],
                     offset: int = 0, swap: bool | None = None) -> dict[str, torch.Tensor]:
        """P(a better than b) for each triple: "p" (final), "p_ab" (a first), "p_ba" (b first, if swap), and
        "cut" (bool): the responses were cut to fit the labeler's context.

        ``swap`` overrides the labeler's own setting for this call.
        """
        swap = self.swap if swap is None else swap
        if not (len(prompts) == len(responses_a) == len(responses_b)):
            raise ValueError("prompts, responses_a and responses_b must have the same length")
        if not prompts:
            raise ValueError("empty batch")
        principles = self.principles_for(len(prompts), offset)
        p_ab = self._p_first(principles, prompts, responses_a, responses_b, offset)
        result = {"p_ab": p_ab, "cut": self.last_cut}
        if swap:
            result["p_ba"] = 1.0 - self._p_first(principles, prompts, responses_b, responses_a, offset + 1)
            result["cut"] = result["cut"] | self.last_cut
            p = (p_ab + result["p_ba"]) / 2
        else:
            p = p_ab
        result["p"] = clamp_label(p, *self.clamp) if self.clamp else p
        return result

    def prefer(self, prompt: str, a: str, b: str) -> float:
        """P(response a is better than response b)."""
        return self.prefer_batch([prompt], [a], [b])["p"].item()

    def label(self, triples, progress: bool = True, chunk: int = 64):
        """Label (prompt, a, b) triples; returns a ``datasets.Dataset`` of preference pairs with soft labels.

        chosen is the response the labeler prefers, p_chosen its probability (>= 0.5 before clamping).
        """
        from datasets import Dataset  # imported only when labelling: it is slow to import

        triples = list(triples)
        if not triples:
            raise ValueError("no pairs to label")
        rows = {"prompt": [], "chosen": [], "rejected": [], "p_chosen": [], "p_first_order": [], "cut_to_fit": []}
        for start in progress_bar(range(0, len(triples), chunk), desc="AI labels", disable=not progress):
            part = triples[start:start + chunk]
            prompts, a, b = (list(x) for x in zip(*part))
            probs = self.prefer_batch(prompts, a, b, offset=start)
            for (prompt, ra, rb), p, p_ab, cut in zip(part, probs["p"].tolist(), probs["p_ab"].tolist(),
                                                      probs["cut"].tolist()):
                a_wins = p >= 0.5
                rows["prompt"].append(prompt)
                rows["chosen"].append(ra if a_wins else rb)
                rows["rejected"].append(rb if a_wins else ra)
                rows["p_chosen"].append(p if a_wins else 1.0 - p)
                rows["p_first_order"].append(p_ab)
                rows["cut_to_fit"].append(cut)
        return Dataset.from_dict(rows)

    # -- direct scoring (d-RLAIF) ---------------------------------------------------------------
    @torch.no_grad()
    def score(self, prompts: list[str], responses: list[str]) -> torch.Tensor:
        """Direct 1-10 rating without a reward model: score = sum_i i * P(i), rescaled to [-1, 1]. (N,)

        The digits "1".."9" are single tokens; "10" is "1" then "0", so P(10) = P("1") * P("0" | "1")
        and P(1) = P("1") * (1 - P("0" | "1")), read with a second forward pass.
        """
        if len(prompts) != len(responses) or not prompts:
            raise ValueError("score needs equally long, non-empty lists of prompts and responses")
        digits = list(verdict_token_ids(self.tokenizer, tuple("0123456789")))  # ids of "0".."9"
        principles = self.principles_for(len(prompts))
        texts = [self.rating_text(pr, p, r) for pr, p, r in zip(principles, prompts, responses)]
        first = next_token_logprobs(self.model, self.tokenizer, texts, self.batch_size, self.max_length).exp()
        after_one = next_token_logprobs(self.model, self.tokenizer, [t + "1" for t in texts], self.batch_size,
                                        self.max_length).exp()  # (N, V) each
        p_digit = first[:, digits]  # (N, 10): P("0"), P("1"), ..., P("9")
        p_zero_after_one = after_one[:, digits[0]]
        probs = torch.zeros(len(texts), 11)  # index = rating 1..10
        probs[:, 1] = p_digit[:, 1] * (1 - p_zero_after_one)
        probs[:, 10] = p_digit[:, 1] * p_zero_after_one
        probs[:, 2:10] = p_digit[:, 2:10]
        probs = probs / probs.sum(1, keepdim=True).clamp(min=1e-12)
        expected = (probs * torch.arange(11)).sum(1)  # in [1, 10]
        return (expected - 5.5) / 4.5
