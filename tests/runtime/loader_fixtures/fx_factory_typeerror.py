"""A factory whose own body raises TypeError: a bug in the user's code, not in the spec."""


def create_app():
    return len(5)
