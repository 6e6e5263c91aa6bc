"""The features, one folder each: the behaviour (``service``/``tracker``) and its words (``messages``)."""
