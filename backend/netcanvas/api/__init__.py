"""The HTTP and websocket API: one router per resource, assembled in app.py."""
