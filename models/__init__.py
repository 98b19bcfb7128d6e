"""The offer scoring model: its feature vector, training, evaluation, registry and scoring.

- ``features``: the model's feature vector, defined once, and the encoder that turns
  customers' online features and candidates into one float32 matrix; ``inputs`` the
  encoder's inputs as columns, ``vocabulary`` the codes of the categorical features;
- ``training_set`` (with ``histories`` and ``signals``): a labelled training set drawn
  from the simulated world and its ground-truth response model;
- ``evaluation``: AUC, log loss and calibration, beside the oracle's;
- ``bootstrap``: trains the first model from the simulator (``python -m models.bootstrap``);
- ``registry``: versioned models on disk with a champion pointer;
- ``scoring``: a registered model ready to score candidates in one ``predict`` call;
- ``cli``: the ``model`` commands (bootstrap, versions, promote).
"""
