"""``fxhelp-bot demo``: the first-run demo and the throwaway Synapse it (and the tests) run."""
