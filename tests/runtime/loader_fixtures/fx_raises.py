raise RuntimeError("fx_raises fails on import on purpose")
