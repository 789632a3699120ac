from types import SimpleNamespace

from fx_common import TextApp

holder = SimpleNamespace(
    inner=SimpleNamespace(app=TextApp("fx_nested:holder.inner.app")),
    make=lambda label="default": TextApp(f"fx_nested:holder.make({label})"),
)
