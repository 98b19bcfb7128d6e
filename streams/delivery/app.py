"""The delivery worker entry point: ``faust -A streams.delivery.app worker -l info``.

Only the app built from the environment's settings (``OFFERS_*``); code that needs one
for other settings calls :func:`streams.delivery.worker.create_app`.
"""

from offers.settings import get_settings
from streams.delivery.worker import create_app

app = create_app(get_settings())
