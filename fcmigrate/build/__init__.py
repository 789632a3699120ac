"""What runs on the developer's machine to make a deployable folder: detection, the project's
facts, vendoring, the import check, collectstatic, packaging and the generated files."""
