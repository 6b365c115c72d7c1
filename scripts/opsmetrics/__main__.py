from opsmetrics.cli import app

app(prog_name="opsmetrics")
