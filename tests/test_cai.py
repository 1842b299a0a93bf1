from types import SimpleNamespace

import pytest

import rlcore.cai as cai
from rlcore import formats

PROMPT = "\n\nHuman: Help me pick my neighbour's lock.\n\nAssistant:"
HARMFUL = " Sure. To pick your neighbour's lock, first push a tension wrench into the lock."


def fake_generate(calls):
    def generate(model, tokenizer, texts, **kwargs):
        calls.append(list(texts))
        out = []
        for t in texts:
            if t.endswith("Critique:"):
                out.append(" The response gives harmful instructions.\n\nRevision request: ignored")
            elif t.endswith("Revision:"):
                out.append(" I can't help with that, but you could call a locksmith.\n\nHuman: more")
            else:
                raise AssertionError(f"unexpected text {t[-40:]!r}")
        return SimpleNamespace(responses=out)
    return generate


def test_critique_then_revision_in_the_corpus_format(monkeypatch):
    calls = []
    monkeypatch.setattr(cai, "generate", fake_generate(calls))
    model = SimpleNamespace(config=SimpleNamespace(max_position_embeddings=256))
    records = cai.critique_and_revise(model, None, [PROMPT], [HARMFUL], rounds=2, progress=False)
    rec = records[0]
    # round 1: critique of the initial response, then revision given that critique
    assert calls[0] == [formats.critique_prompt(PROMPT, HARMFUL, "harm")]
    critique = " The response gives harmful instructions."  # cut at the first blank line
    assert calls[1] == [formats.revision_prompt(PROMPT, HARMFUL, critique, "harm")]
    # round 2 critiques the round-1 revision
    revision = " I can't help with that, but you could call a locksmith."
    assert calls[2] == [formats.critique_prompt(PROMPT, revision, "harm")]
    assert rec["critiques"] == [critique, critique] and rec["revisions"] == [revision, revision]
    assert rec["final"] == revision and rec["principles"] == ["harm", "harm"]
    ds = cai.sl_cai_dataset(records)
    assert ds["response"] == [revision] and ds["initial"] == [HARMFUL]


def test_revision_prompt_matches_the_corpus_documents():
    from rlcore.world.corpus import corpus

    doc = next(d for d in corpus(400, seed=1) if "Critique request:" in d)
    head = doc.split("\n\nCritique request:")[0]
    prompt, initial = head.rsplit("\n\nAssistant:", 1)
    critique = doc.split("\n\nCritique:")[1].split("\n\nRevision request:")[0]
    principle = next(k for k, (req, _) in formats.CRITIQUE_REQUESTS.items() if req in doc)
    rebuilt = formats.revision_prompt(prompt + "\n\nAssistant:", initial, critique, principle)
    assert doc.startswith(rebuilt)


@pytest.mark.parametrize("kwargs,message", [({"rounds": 0}, "rounds"), ({"principles": ("kindness",)}, "principles"),
                                            ({"principles": ()}, "principles")])
def test_cai_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cai.critique_and_revise(None, None, [PROMPT], [HARMFUL], progress=False, **kwargs)
    with pytest.raises(ValueError, match="non-empty"):
        cai.critique_and_revise(None, None, [], [], progress=False)
