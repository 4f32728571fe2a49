"""Data simulators: two-level (``two_level``), crossed and three-level designs (``designs``).

Examples
--------
>>> from mlm_helpers.simulation.two_level import simulate_two_level
>>> simulate_two_level(3, 4, beta0=1.0, tau00=1.0, sigma2=1.0, seed=1).shape[0]
12
"""
