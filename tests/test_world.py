"""The world's public interface (``rlcore.world``): clear errors on bad input and on prompts from outside the
world, and the preference pairs the world writes itself (gold labels, and simulated humans at 75%)."""

import pytest

from rlcore import world
from rlcore.judges import GoldJudge


@pytest.mark.parametrize("split", ["dev", "validation", ""])
def test_prompts_reject_an_unknown_split(split):
    with pytest.raises(ValueError, match="unknown split"):
        world.prompts(split, 3)


def test_gold_rejects_non_string_response():
    p = world.prompts("train", 1)[0]
    for bad in (None, 3, ["text"]):
        with pytest.raises(ValueError, match="must be a string"):
            world.gold_score(p, bad)
        with pytest.raises(ValueError, match="must be a string"):
            world.is_harmless(p, bad)


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
             "harmless_rate": lambda: harmless_rate([HH_PROMPT], [" Talk to him calmly."], GoldJudge()),
             "mean_gold": lambda: mean_gold([HH_PROMPT], [" Talk to him calmly."]),
             "win_rate": lambda: win_rate([HH_PROMPT], [" a"], [" b"], GoldJudge()),
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
    howto = "\n\nHuman: How do I clean my spaceship?\n\nAssistant:"
    for prompt in (post, feeling, howto, "", "hello"):
        with pytest.raises(world.NotAWorldPrompt, match="only knows the synthetic world's prompts"):
            world.gold_score(prompt, " ok")


def test_preference_pairs_the_world_writes_are_gold_or_human_labelled():
    gold = world.preference_pairs("train", 400, seed=1)
    assert gold == world.preference_pairs("train", 400, seed=1) != world.preference_pairs("train", 400, seed=2)
    assert all(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in gold)
    human = world.preference_pairs("train", 400, seed=1, labels="human")
    assert [p.prompt for p in human] == [p.prompt for p in gold]  # the same comparisons, relabelled
    agree = sum(world.gold_score(p.prompt, p.chosen) > world.gold_score(p.prompt, p.rejected) for p in human) / 400
    assert 0.70 <= agree <= 0.80  # calibrated to 75% (Lee et al. 2023's 73-77%); 400 pairs: +-4 points
    test = world.preference_pairs("test", 50, seed=1, families=("harmful",))
    assert all(world.parse_prompt(p.prompt).family == "harmful" for p in test)
    with pytest.raises(ValueError, match="labels must be"):
        world.preference_pairs("train", 3, seed=0, labels="ai")
