"""The core shared by every package of the offer engine: settings, event contracts,
topic names, errors, the local stack and the command line."""
