"""Fixture: writes a file in the code folder when imported."""

import json

with open("data/items.json", "w") as out:
    json.dump([], out)
