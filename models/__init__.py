"""The offer scoring model: its feature vector, training, evaluation, registry and scoring.

- ``features``: the model's feature vector, defined once, and the encoder that turns
  customers' online features and candidates into one float32 matrix; ``inputs`` the
  encoder's inputs as columns, ``vocabulary`` the codes of the categorical features;
- ``training_set`` (with ``histories`` and ``signals``): a labelled training set drawn
  from the simulated world and its ground-truth response model, for the first model;
- ``bootstrap``: trains that first model (``offers model bootstrap``);
- ``logged``: training sets from the engine's logged decisions and outcomes, joined point
  in time with Feast's offline log;
- ``training``: LightGBM on logged rows, from a configuration file
  (``configs/offer_scoring.toml``), split by decision time, with early stopping;
- ``evaluation``, ``report`` and ``curves``: metrics beside the oracle and the champion,
  an HTML report with its plots; ``off_policy``: IPS, SNIPS and doubly robust estimates
  of another policy on the logged exploration; ``drift``: population stability of
  features and scores; ``comparison``: policies at equal send volume by the simulator's
  truth;
- ``lifecycle``: read the logs, train, assess, register (``offers model train``);
- ``registry``: versioned models on disk with a champion, a challenger, a promotion
  history and rollback;
- ``scoring``: a registered model ready to score candidates in one ``predict`` call;
  ``compiled``: the same model compiled to native code by lleaves, checked against
  LightGBM, for the workers;
- ``cli``: the ``offers model`` commands.
"""
