"""What linters cannot check, and no deployment shows: that the templates agree with the
handler and with each other (templates), that the CDK construct's function is the SAM app's
(cdk_function), and that every example in the documentation is right (doc_snippets, with
mermaid/, the Node.js parser of its diagrams). Offline; the release tools under scripts/ are
imported as the code these checks hold to account.

Imported as `checks`: scripts/workshop/rust.py puts tests/ (and scripts/) on PYTHONPATH.
"""
