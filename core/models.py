"""core has no tables of its own (the audit tables keep their ``compliance`` app label).

The module exists because Django sends ``post_migrate`` only to apps with a
models module, and core installs the audit triggers on that signal.
"""
