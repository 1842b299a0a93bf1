import random

import pytest

from rlcore import world
from rlcore.world import content as C
from rlcore.world.corpus import corpus, rationale
from rlcore.world.generator import sample_prompts
from rlcore.world.humans import expected_human_agreement, human_agreement


def test_prompts_are_hh_format_deterministic_and_split():
    a = world.prompts("train", 50, seed=3)
    assert a == world.prompts("train", 50, seed=3)
    assert a != world.prompts("train", 50, seed=4)
    assert all(p.startswith("\n\nHuman: ") and p.endswith("\n\nAssistant:") for p in a)
    test_topics = {t for t, _ in C.TOPICS[-C.N_TEST_TOPICS:]}
    train_topics = {t for t, _ in C.TOPICS[:-C.N_TEST_TOPICS]}
    train = world.sample_prompts("train", 2000, 0)
    test = world.sample_prompts("test", 2000, 0)
    assert not any(C.TOPICS[p.key][0] in test_topics for p in train if p.family == "benign")
    assert not any(C.TOPICS[p.key][0] in train_topics for p in test if p.family == "benign")
    assert {p.name for p in train if p.name}.isdisjoint({p.name for p in test if p.name})
    assert {p.family for p in train} == set(world.FAMILIES)
    assert len({C.HARMFUL[p.key][0] for p in train if p.family == "harmful"}) >= 8
    assert len({p.key for p in train if p.family == "benign"}) >= 24


@pytest.mark.parametrize("split,n,message", [("dev", 3, "unknown split"), ("train", 0, "positive"),
                                             ("train", -2, "positive"), ("test", 2.5, "positive")])
def test_prompts_reject_bad_arguments(split, n, message):
    with pytest.raises(ValueError, match=message):
        world.prompts(split, n)


def test_gold_rejects_non_string_response():
    p = world.prompts("train", 1)[0]
    for bad in (None, 3, ["text"]):
        with pytest.raises(ValueError, match="must be a string"):
            world.gold_score(p, bad)
        with pytest.raises(ValueError, match="must be a string"):
            world.is_harmless(p, bad)


def test_parse_prompt_recovers_every_generated_prompt():
    families = set()
    for split in ("train", "test"):
        for p in sample_prompts(split, 1500, 1):
            parsed = world.parse_prompt(p.text)
            assert (parsed.family, parsed.key) == (p.family, p.key)
            families.add(parsed.family)
    assert families == set(world.FAMILIES)


# A hand-written conversation in HH-RLHF's format, about nothing the world knows.
HH_PROMPT = ("\n\nHuman: My neighbour's music keeps me up at night. How should I bring it up with him?"
             "\n\nAssistant: Have you tried talking to him already?\n\nHuman: Not yet, I'm nervous.\n\nAssistant:")


def test_the_gold_judge_refuses_prompts_from_outside_the_world():
    from rlcore.evaluate import fluency_penalty, harmless_rate, mean_gold, win_rate

    calls = {"parse_prompt": lambda: world.parse_prompt(HH_PROMPT),
             "gold_score": lambda: world.gold_score(HH_PROMPT, " Talk to him calmly."),
             "gold_components": lambda: world.gold_components(HH_PROMPT, " Talk to him calmly."),
             "is_harmful_prompt": lambda: world.is_harmful_prompt(HH_PROMPT),
             "is_harmless": lambda: world.is_harmless(HH_PROMPT, " Talk to him calmly."),
             "best_response": lambda: world.best_response(HH_PROMPT),
             "harmless_rate": lambda: harmless_rate([HH_PROMPT], [" Talk to him calmly."]),
             "mean_gold": lambda: mean_gold([HH_PROMPT], [" Talk to him calmly."]),
             "win_rate": lambda: win_rate([HH_PROMPT], [" a"], [" b"]),
             "fluency_penalty": lambda: fluency_penalty([HH_PROMPT], [" a"])}
    for name, call in calls.items():
        with pytest.raises(world.NotAWorldPrompt) as info:
            call()
        message = str(info.value)
        assert "\n" not in message, name  # one line
        assert message.startswith("the gold judge only knows the synthetic world's prompts"), name
        assert repr(HH_PROMPT[:60] + "...") in message and "AI judge" in message, name
    assert issubclass(world.NotAWorldPrompt, ValueError)
    # looks like a family of the world, but is not one of its prompts
    post = "\n\nHuman: Summarise this post: I moved to a new city and miss my friends.\n\nAssistant:"
    feeling = "\n\nHuman: I feel sad because it rained all week.\n\nAssistant:"
    short = "\n\nHuman: what is the meaning of life?\n\nAssistant:"
    for prompt in (post, feeling, short, "", "hello"):
        with pytest.raises(world.NotAWorldPrompt, match="only knows the synthetic world's prompts"):
            world.gold_score(prompt, " ok")


def test_gold_ranks_styles_as_documented():
    rng = random.Random(0)
    order = {
        "benign": ["helpful", "missing_step", "slip", "evasive", "refusal", "off_topic"],
        "harmful": ["refusal_alternative", "refusal", "evasive", "compliance"],
        "emotional": ["empathetic", "empathy_only", "evasive", "dismissive"],
        "sensitive": ["careful", "referral_only", "evasive", "overconfident"],
        "summary": ["good", "incomplete", "evasive"],
    }
    for family, styles in order.items():
        for p in sample_prompts("test", 20, 2, (family,)):
            scores = [world.gold_score(p.text, world.respond(p, s, rng)) for s in styles]
            assert scores == sorted(scores, reverse=True) and len(set(scores)) == len(scores), (family, scores)


def test_best_response_is_never_outscored_by_any_style():
    rng = random.Random(1)
    for split in world.SPLITS:
        for p in sample_prompts(split, 150, 3):
            best = world.gold_score(p.text, world.best_response(p.text))
            others = [world.gold_score(p.text, world.respond(p, s, rng)) for s in world.STYLES[p.family] for _ in range(2)]
            assert best >= max(others), (p.family, best, max(others))
            if p.family == "benign":  # one helpful answer per topic: the very text the generator writes
                assert world.best_response(p.text) == world.respond(p, "helpful", rng)
    with pytest.raises(world.NotAWorldPrompt, match="only knows the synthetic world's prompts"):
        world.best_response("\n\nHuman: What is the capital of France?\n\nAssistant:")


def test_gold_cannot_be_fooled():
    rng = random.Random(1)
    for p in sample_prompts("test", 60, 5):
        helpful = world.respond(p, world.BEST_STYLE[p.family], rng)
        plain = world.gold_score(p.text, helpful)
        topic_words = " ".join(w for w in p.request.split() if len(w) > 3)
        stuffed = " " + " ".join([topic_words] * 8)
        very_long = " " + " ".join([helpful.strip()] * 12)
        assert world.gold_score(p.text, stuffed) < plain, stuffed
        assert world.gold_score(p.text, very_long) < plain
        assert world.gold_score(p.text, "") < plain
        assert world.gold_score(p.text, "   ") < plain
        # gibberish and writing the human's next turn are penalised too
        assert world.gold_score(p.text, " zxq blorp fnord wibble grob") < plain
        assert world.gold_score(p.text, helpful + "\n\nHuman: thanks") < plain


def test_stuffing_key_phrases_does_not_pay():
    p = sample_prompts("train", 1, 0, ("benign",))[0]
    steps = C.TOPICS[p.key][1]
    once = world.gold_score(p.text, " " + ", ".join(steps) + ".")
    many = world.gold_score(p.text, " " + ", ".join(steps * 5) + ".")
    assert many < once


def test_harmlessness_and_harmful_prompts():
    rng = random.Random(2)
    for p in sample_prompts("train", 100, 7, ("harmful",)):
        assert world.is_harmful_prompt(p.text)
        assert not world.is_harmless(p.text, world.respond(p, "compliance", rng))
        for style in ("refusal", "refusal_alternative", "evasive"):
            assert world.is_harmless(p.text, world.respond(p, style, rng))
    for p in sample_prompts("train", 100, 7, ("benign", "emotional", "summary")):
        assert not world.is_harmful_prompt(p.text)


def test_simulated_humans_agree_with_gold_like_real_annotators():
    # Lee et al. 2023 report 73-77% agreement between human annotators.
    for split, seed in (("train", 11), ("test", 12)):
        expected = expected_human_agreement(split, n=3000, seed=seed)
        assert 0.74 <= expected <= 0.76
        # sampled labels: within 3 standard errors (~0.8% each at n = 3000) of the expectation
        assert abs(human_agreement(split, n=3000, seed=seed) - expected) < 0.025


def test_preference_pairs_and_likert():
    gold_pairs = world.preference_pairs("train", 300, seed=1, labels="gold")
    assert all(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in gold_pairs)
    human = world.preference_pairs("train", 300, seed=1, labels="human")
    agree = sum(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in human) / 300
    assert 0.65 < agree < 0.85
    rng = random.Random(0)
    p = sample_prompts("train", 1, 0, ("harmful",))[0]
    good = [world.likert_rating(p.text, world.respond(p, "refusal_alternative", rng), rng) for _ in range(200)]
    bad = [world.likert_rating(p.text, world.respond(p, "compliance", rng), rng) for _ in range(200)]
    assert all(1 <= r <= 10 for r in good + bad)
    assert sum(good) / 200 > sum(bad) / 200 + 3


def test_corpus_mixture_is_mediocre_and_formats_are_right():
    docs = corpus(3000, seed=0)
    assert docs == corpus(3000, seed=0)
    assert all(d.endswith(C.EOT) for d in docs)
    dialogues = [d for d in docs if d.startswith("\n\nHuman:") and "Critique request" not in d]
    harmful = [d for d in dialogues if world.is_harmful_prompt(d.split("\n\nAssistant:")[0] + "\n\nAssistant:")]
    harmless = sum(not world.contains_harm(d.split("\n\nAssistant:")[1]) for d in harmful) / len(harmful)
    assert harmless < 0.5
    judgements = [d for d in docs if "Preferred Response=" in d]
    assert len(judgements) > 500
    assert all(d.rstrip(C.EOT)[-1] in "12" for d in judgements)
    first = sum(d.rstrip(C.EOT)[-1] == "1" for d in judgements) / len(judgements)
    assert 0.5 < first < 0.75  # some commenters favour the first slot
    assert any("Rationale:" in d for d in judgements)
    assert any("Critique request:" in d and "Revision:" in d for d in docs)


def test_rationale_names_the_winner():
    p = sample_prompts("train", 1, 0, ("harmful",))[0]
    rng = random.Random(0)
    bad, good = world.respond(p, "compliance", rng), world.respond(p, "refusal_alternative", rng)
    text, winner = rationale(p.text, bad, good)
    assert winner == 2 and text == "Response 1 gives harmful instructions."


def test_demonstrations_best_style_or_helpful_only_mix():
    best = world.demonstrations("train", 400, seed=0)
    assert all(world.gold_score(p, r) >= 1.5 for p, r in best)  # the best style of every family
    mixed = world.demonstrations("train", 2000, seed=0, harmful_compliance=0.4)
    harmful = [r for p, r in mixed if world.is_harmful_prompt(p)]
    share = sum(not world.is_harmless(p, r) for p, r in mixed if world.is_harmful_prompt(p)) / len(harmful)
    assert 0.33 < share < 0.47
    with pytest.raises(ValueError, match="harmful_compliance"):
        world.demonstrations("train", 5, harmful_compliance=1.5)
