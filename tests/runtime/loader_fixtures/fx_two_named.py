"""``app`` and ``application`` are different objects: which one to serve is ambiguous."""

from fx_common import TextApp

app = TextApp("inner")
application = TextApp("wrapped")
