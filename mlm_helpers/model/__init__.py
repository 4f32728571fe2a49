"""The model pipeline, in lme4's four stages (Bates et al. 2015, section 1.1):

1. ``formula``: parse an lme4 formula;
2. ``frame``: check the data and build the model matrices (``build_model`` -> ``ModelFrame``);
3. ``deviance`` (the objective, one implementation) and ``engines`` (the optimisers: ``fast``,
   ``statsmodels``), each returning an ``EngineFit`` with its ``OptSummary`` (``optsummary``);
4. ``result``: ``MixedResult``, with ``refit`` and ``simulate``; ``compare`` (LRT) and ``icc``
   work on results. ``fitting.fit`` validates, picks the engine and wraps the result.
"""
