"""Social listening: what customers say about the brand, the ports and the routes.

- :mod:`streams.listening.mentions`: a post becomes one mention per subject it names,
  without its author or text;
- :mod:`streams.listening.windows`: mentions counted per subject over tumbling windows of
  event time (15 minutes, 1 hour, 1 day), late and redelivered ones left out;
- :mod:`streams.listening.spikes`: alerts on spikes of negative mentions of a port or a
  route;
- :mod:`streams.listening.agents`: the Faust agents that wire them to the topics.
"""
