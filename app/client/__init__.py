"""`karma plan | request | apply | approve | deny | cancel | rollback | show | impact | log | queue | changes`:
the CLI that speaks the API over HTTP (KARMA_URL, KARMA_TOKEN or .karma/admin-token), for people and for CI.

api.py      the HTTP client (urllib; errors and unknown outcomes kept apart)
body.py     the change from a YAML/JSON file or --set/--unset flags
outcome.py  exit codes a pipeline can act on
text.py     human-readable tables;  markdown.py  a pull-request comment with a Mermaid impact graph
The click commands that use it are in app/cli/changes.py.
"""
