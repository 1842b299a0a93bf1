"""The annotator form of lesson 03: the student's clicks when every pair is labelled, the pre-filled labels (said
so) otherwise."""

import pytest

from rlcore.annotate import AnnotationForm

TRIPLES = [("\n\nHuman: Hi?\n\nAssistant:", " Hello.", " Go away."),
           ("\n\nHuman: 2+2?\n\nAssistant:", " 5", " 4"),
           ("\n\nHuman: <b>bold</b>?\n\nAssistant:", " yes", " no")]


def test_clicks_become_labels_only_once_every_pair_is_labelled():
    form = AnnotationForm(TRIPLES)
    widget = form.widget()
    choices = [row.children[1] for row in widget.children]  # one ToggleButtons per pair, in order
    assert len(choices) == 3 and all(c.value is None for c in choices)
    prefilled = [False, False, False]
    choices[0].value, choices[1].value = "A is better", "B is better"  # what a click does
    labels, source = form.labels(prefilled)
    assert labels == prefilled and "PRE-FILLED" in source and "2 of 3" in source  # one pair still unlabelled
    choices[2].value = "A is better"
    labels, source = form.labels(prefilled)
    assert labels == [True, False, True] and source == "your 3 labels"
    choices[1].value = "A is better"  # a changed mind counts
    assert form.labels(prefilled)[0] == [True, True, True]


def test_the_form_escapes_text_and_refuses_bad_input():
    html = AnnotationForm(TRIPLES).widget().children[2].children[0].value
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html  # a response can't inject markup
    with pytest.raises(ValueError, match="nothing to label"):
        AnnotationForm([])
    with pytest.raises(ValueError, match="2 pre-filled labels for 3 pairs"):
        AnnotationForm(TRIPLES).labels([True, False])
