CONFIG = {"debug": False}
