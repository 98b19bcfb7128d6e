"""The marketers' page: its static files (``static/``) and the live activity it shows
(:mod:`offers_api.web.activity`)."""
