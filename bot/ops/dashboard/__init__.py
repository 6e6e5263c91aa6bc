"""The moderators' dashboard on the bot's HTTP endpoint: sign-in through Matrix, the page, its data."""
