"""Titles glued to the front of MS MARCO passages: removed only where certainly a title."""

from data_prep.training_sets import strip_title


def test_strip_title_removes_only_certain_titles():
    assert strip_title("- Adjective preventive") == "Adjective preventive"
    titled = "W. Bradford, Governor http://en.wikipedia.org/wiki/W_Bradford W. Bradford (c.1590"
    assert strip_title(titled) == "W. Bradford (c.1590"
    assert strip_title("Physician Salary Active-duty physicians") == (
        "Physician Salary Active-duty physicians"
    )
