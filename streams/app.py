"""The worker entry point: ``faust -A streams.app worker -l info``.

Faust's command line imports a module and takes its ``app``; this module is only that:
the app built from the environment's settings (``OFFERS_*``). Code that needs an app for
other settings calls :func:`streams.worker.create_app`.
"""

from offers.settings import get_settings
from streams.worker import create_app

app = create_app(get_settings())
