CONFIG = {"debug": False}


def helper(value):
    return value
