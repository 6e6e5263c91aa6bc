"""``!iam``: the SUMO and forum usernames people link to themselves (kept by bot.storage.identities), and
the words of its answers. The links are read by the questions tracker, the consult forum and !top."""
