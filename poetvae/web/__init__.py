"""`poetvae serve`: a poetry studio in the browser over `text.compose`, and its JSON API.

`params` reads requests (the options of `poetvae generate`, by the CLI's names), `app` is the
Starlette application (lazy shared models, one inference thread, bounds on size and time), and
`static/` holds the page, which only renders what the API returns. The web framework is the
optional extra `poetvae[web]`; nothing outside this package imports it.
"""
