"""The student as annotator (lesson 03): a form over pairs of responses, one click per pair, and what stands in for
the student's clicks where no widget front end runs (nbval, a static page, a script)."""

from __future__ import annotations

import html


class AnnotationForm:
    """One row per (prompt, a, b): the prompt, both responses, and a choice "A is better" / "B is better".

    ``labels(prefilled)`` returns the student's choices as ``a_wins`` booleans once every pair is labelled, and
    otherwise the ``prefilled`` ones, with a line that says which it is.
    """

    def __init__(self, triples: list[tuple[str, str, str]]):
        if not triples:
            raise ValueError("nothing to label: give at least one (prompt, a, b)")
        self.triples = list(triples)
        self.choices: list[bool | None] = [None] * len(self.triples)

    def widget(self):
        import ipywidgets as widgets

        rows = []
        for i, (prompt, a, b) in enumerate(self.triples):
            text = widgets.HTML(f"<b>{i + 1}.</b> <pre style='white-space: pre-wrap'>{html.escape(prompt.strip())}</pre>"
                                f"<b>A:</b> {html.escape(a)}<br><b>B:</b> {html.escape(b)}")
            choice = widgets.ToggleButtons(options=["A is better", "B is better"], value=None)
            choice.observe(lambda change, i=i: self._choose(i, change["new"]), names="value")
            rows.append(widgets.VBox([text, choice]))
        return widgets.VBox(rows)

    def _choose(self, i: int, value: str | None) -> None:
        self.choices[i] = None if value is None else value.startswith("A")

    @property
    def complete(self) -> bool:
        return all(c is not None for c in self.choices)

    def labels(self, prefilled: list[bool]) -> tuple[list[bool], str]:
        """(a_wins for every pair, where they came from)."""
        if len(prefilled) != len(self.triples):
            raise ValueError(f"{len(prefilled)} pre-filled labels for {len(self.triples)} pairs")
        if self.complete:
            return list(self.choices), f"your {len(self.choices)} labels"
        done = sum(c is not None for c in self.choices)
        return list(prefilled), (f"PRE-FILLED labels: {done} of {len(self.triples)} pairs were labelled in the form "
                                 "(none is, without a widget front end: nbval, a static page). Label every pair above in "
                                 "Jupyter or Colab and run this cell again to use yours.")
