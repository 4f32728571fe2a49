"""Chapter companions: the simulations, tables and checks one chapter needs.

Each module says in its docstring which chapter it serves. They use the public model API
(:func:`mlm_helpers.fit`, ``MixedResult.refit``/``simulate``) and the shared deviance core, and
are reachable as ``mh.<name>`` (``mh.clustering``, ``mh.montecarlo``...).

========================  =====================================================
module                    chapter
========================  =====================================================
``clustering``            01 nested data, 02 ICC
``pooling``               01 nested data (complete, no and partial pooling)
``centring``              04 random slopes (centring, contextual effects)
``bayes``, ``simstudy``   05 estimation
``reporting``             07 worked example
``diagnostics``           11 diagnostics
``montecarlo``            12 how many groups
``casestudies``           13 applications
========================  =====================================================
"""
