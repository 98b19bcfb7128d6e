"""The Feast feature repository of the offer engine.

``fields`` names every feature and imports without Feast; the Feast objects live one
concept per module (``entities``, ``sources``, ``views``, ``on_demand``, ``services``) and
``store`` builds a configured ``FeatureStore`` from ``feature_store.yaml`` and the settings.
"""
