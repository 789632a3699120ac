def on_start():
    return "started"


class Hooks:
    @staticmethod
    def on_stop():
        return "stopped"
