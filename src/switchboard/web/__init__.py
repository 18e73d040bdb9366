"""The browser UI: server-rendered pages (Jinja2) made live with htmx and the event stream.

The UI is a client of the service like any other: it signs in with the session
cookie, changes state through the REST API (`/api/v1`, with the session's CSRF
token), and learns of changes from the live event stream (SSE). Its own routes
only render HTML, with the same permission guards as the API (`web.guard`).
The API never imports this package; `web.app.create_app` mounts it on the API's
application. Structure and conventions: docs/web.md.
"""
