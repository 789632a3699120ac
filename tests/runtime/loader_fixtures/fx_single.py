"""One application object, under a name discovery does not know, among other objects."""

from fx_common import TextApp

CONFIG = {"debug": False}
webapp = TextApp("fx_single:webapp")


def helper(value):
    return value
