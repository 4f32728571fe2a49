"""The slider explorers (ICC, shrinkage, random slopes) and the widget that hosts them.

The protocol
------------
An explorer is a module with

- ``PARAMS``: the sliders, ``{name: (minimum, maximum, step, default)}``;
- ``compute(**params)``: the numbers for one setting (refits included), as a dict;
- ``draw(**params)``: a matplotlib figure for one setting;
- ``describe(numbers)``: one line of text with the numbers, shown above the picture;
- ``widget()``: the live ipywidgets version (:class:`~mlm_helpers.explorers.widget.SliderExplorer`).

The book's ``static-explorer`` directive (``book/_ext/static_explorer.py``) relies on
``PARAMS``, ``draw`` and ``describe`` to pre-render every frame, so the sliders work without a
kernel. A new explorer goes in this folder, follows the protocol, and gets a test that sets its
slider values in Python.
"""
