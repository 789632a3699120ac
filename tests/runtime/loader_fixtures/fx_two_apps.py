from fx_common import TextApp

public_app = TextApp("public")
admin_app = TextApp("admin")
